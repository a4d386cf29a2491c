from enum import Enum

from piccolo.columns import (
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.members.tables import Person
from rescueops.orgs.tables import OrgUnit
from rescueops.teams.tables import Team


class DrillStatus(str, Enum):
    planned = "planned"
    running = "running"  # the exercise clock is on (or paused)
    ended = "ended"  # conducted; waiting for the evaluation and closing
    closed = "closed"  # evaluated, hours credited
    cancelled = "cancelled"


class Rating(str, Enum):
    """Exercise evaluation ratings."""

    P = "P"  # performed without challenges
    S = "S"  # performed with some challenges
    M = "M"  # performed with major challenges
    U = "U"  # unable to be performed
    NO = "NO"  # not observed


class ScenarioVersion(Table, tablename="drills_scenario"):
    """One version of a library scenario, kept so that a drill keeps the version it was planned with.
    Unique per (scenario_id, version), by an index made in the migration."""

    scenario_id = Varchar(length=64, index=True)
    version = Integer()
    title_zh = Varchar(length=200)
    title_en = Varchar(length=200)
    type = Varchar(length=24)
    categories = Text(default="[]")  # JSON list of category codes
    body = Text()  # the whole scenario as JSON
    loaded_at = Timestamptz()


class DrillSeries(Table, tablename="drills_series"):
    """A recurring training: the rule its occurrences were expanded from."""

    frequency = Varchar(length=10)  # weekly | monthly
    interval = SmallInt(default=1)
    occurrences = SmallInt()
    created_at = Timestamptz()


class Drill(Table, tablename="drills_drill"):
    scenario = ForeignKey(ScenarioVersion, on_delete=OnDelete.restrict)
    series = ForeignKey(DrillSeries, null=True, default=None, on_delete=OnDelete.set_null)
    title = Varchar(length=200)
    organiser_unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)
    organiser_team = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.restrict)
    org_path = Varchar(length=512, index=True)  # the organiser's path: who may see and run it
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    place = Varchar(length=200)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    other_participants = Text(default="[]")  # JSON: departments and units taking part by name
    expected_participants = Integer(default=0)
    equipment = Text(default="[]")  # JSON: [{type, quantity}] to bring
    status = Varchar(length=12, choices=DrillStatus, default=DrillStatus.planned)
    called_at = Timestamptz(null=True, default=None)  # the alert, for the mobilisation time
    assembled_at = Timestamptz(null=True, default=None)
    clock_started_at = Timestamptz(null=True, default=None)
    clock_paused_at = Timestamptz(null=True, default=None)
    paused_seconds = Integer(default=0)
    ended_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    cancel_reason = Text(default="")
    strengths = Text(default="[]")  # JSON: what went well, from the evaluation
    created_by = Varchar(length=150)
    created_at = Timestamptz()


class DrillTeam(Table, tablename="drills_team"):
    """A team invited to a drill; unique per (drill, team) by an index made in the migration."""

    drill = ForeignKey(Drill, on_delete=OnDelete.cascade)
    team = ForeignKey(Team, on_delete=OnDelete.restrict)


class DrillUnit(Table, tablename="drills_unit"):
    """An organisation unit taking part by name (a league, banner or county, a depot, a partner province's Red Cross);
    unique per (drill, unit) by an index made in the migration. Its supervisors see the drill."""

    drill = ForeignKey(Drill, on_delete=OnDelete.cascade)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)


class Attendance(Table, tablename="drills_attendance"):
    """A member at a drill; unique per (drill, person) by an index made in the migration."""

    drill = ForeignKey(Drill, on_delete=OnDelete.cascade)
    person = ForeignKey(Person, on_delete=OnDelete.restrict)
    team = ForeignKey(Team, on_delete=OnDelete.restrict)
    checked_in_at = Timestamptz()
    checked_out_at = Timestamptz(null=True, default=None)
    late = Boolean(default=False)
    method = Varchar(length=10)  # scan | roll_call
    role = Varchar(length=64, default="")  # the scenario's participant role, when assigned
    recorded_by = Varchar(length=150)


class InjectDelivery(Table, tablename="drills_inject"):
    """An inject released into the drill; unique per (drill, inject_id), so each is delivered once."""

    drill = ForeignKey(Drill, on_delete=OnDelete.cascade)
    inject_id = Varchar(length=64)
    delivered_at = Timestamptz()


class InjectAck(Table, tablename="drills_inject_ack"):
    """A participant acknowledged an inject; unique per (delivery, user)."""

    delivery = ForeignKey(InjectDelivery, on_delete=OnDelete.cascade)
    user_id = Integer()
    user_name = Varchar(length=150)
    acked_at = Timestamptz()


class Evaluation(Table, tablename="drills_evaluation"):
    """The rating of one objective of a drill; unique per (drill, objective_id)."""

    drill = ForeignKey(Drill, on_delete=OnDelete.cascade)
    objective_id = Varchar(length=64)
    rating = Varchar(length=2, choices=Rating)
    observations = Text(default="")
    evaluators = Text(default="[]")  # JSON list of the evaluators' names
    recorded_by = Varchar(length=150)
    recorded_at = Timestamptz()


class ImprovementStatus(str, Enum):
    open = "open"
    closed = "closed"


class ImprovementItem(Table, tablename="drills_improvement"):
    """An item of a drill's improvement plan, tracked until closed."""

    drill = ForeignKey(Drill, on_delete=OnDelete.cascade)
    org_path = Varchar(length=512, index=True)
    objective_id = Varchar(length=64)
    action = Text()
    owner = Varchar(length=100)
    due_on = Date()
    status = Varchar(length=8, choices=ImprovementStatus, default=ImprovementStatus.open)
    closed_at = Timestamptz(null=True, default=None)
    closing_note = Text(default="")


class TrainingPlan(Table, tablename="drills_training_plan"):
    """A team's annual training plan: how many drills it means to hold in a year; unique per (team, year)."""

    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    year = SmallInt()
    target_count = SmallInt()
    note = Text(default="")
