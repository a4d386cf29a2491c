from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class JobRun(Table, tablename="jobs_run"):
    """One claimed run: the unique ``run_key`` ("job@slot") lets only one process run each slot."""

    run_key = Varchar(length=160, unique=True)
    job_id = Varchar(length=100, index=True)
    scheduled_for = Timestamptz()
    claimed_by = Varchar(length=200)
    claimed_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=500, default="")
