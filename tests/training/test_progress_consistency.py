"""`rescueops db check`'s training rules: the tally equals a recount of the certificates not revoked and the awareness
sessions' reported heads; the subtree tally equals the tally summed over each unit's subtree (also as the migration that
introduced it fills it in); a tampered row, or a count changed behind the tallies' back, is reported."""

from __future__ import annotations

import importlib.util
from datetime import date

from piccolo.table import Table

from rescueops.db import consistency
from rescueops.db.apps import migrations_root
from rescueops.training.tables import CourseKind, SubtreeTally, Tally, TrainingCertificate, TrainingSession
from tests.training import builders
from tests.training.test_progress_counts import issue, organisation, report_heads, revoke

RULE = "the training tally equals a recount of certificates and awareness attendances"
SUBTREE_RULE = "the subtree tally equals the training tally summed over each unit's subtree"


async def _finding(rule: str = RULE) -> consistency.Finding:
    return next(f for f in await consistency.check() if f.rule == rule)


async def _two_organisations_counted() -> None:
    """Certificates of one county, month and kind from sessions of two organisations and two sectors, and heads."""
    first = await builders.course_version(CourseKind.first_aider)
    school = await organisation("乌丹一中", unit_code="150426")
    company = await organisation("乌丹热电厂", unit_code="150426")
    campus = await builders.session(first, unit_code="150426", starts_on=date(2025, 3, 1), organisation=school, sector="campus")
    works = await builders.session(first, unit_code="150426", starts_on=date(2025, 3, 3), organisation=company, sector="workplace_safety")
    await issue(campus, 2, date(2025, 3, 10), date(2028, 3, 10))
    revoked = await issue(works, 3, date(2025, 3, 12), date(2028, 3, 12))
    await revoke(revoked[0])
    heads = await builders.session(await builders.course_version(CourseKind.awareness), unit_code="150426", starts_on=date(2025, 3, 5),
                                   days=1)
    await report_heads(heads, 40)


async def test_the_tally_matches_its_recount_and_a_tampered_row_is_reported(db) -> None:
    first = await builders.course_version(CourseKind.first_aider)
    awareness = await builders.course_version(CourseKind.awareness)
    session = await builders.session(first, unit_code="150426", starts_on=date(2025, 3, 1))
    ids = await issue(session, 3, date(2025, 3, 10), date(2028, 3, 10))
    await issue(session, 1, date(2025, 4, 2), None)
    await revoke(ids[0])
    heads = await builders.session(awareness, unit_code="150426", starts_on=date(2025, 3, 5), days=1)
    await report_heads(heads, 120)
    assert await _finding() == consistency.Finding(RULE, 0)

    row = await Tally.select(Tally.id).where((Tally.kind == "first_aider") & (Tally.expires_month == date(2028, 3, 1))).first()
    await Tally.update({Tally.certificates: Tally.certificates + 1}).where(Tally.id == row["id"])
    broken = await _finding()
    assert broken.problems == 1 and "/150000/150400/150426/|0|communities|first_aider|2025-03|2028-03" in broken.detail
    await Tally.update({Tally.certificates: Tally.certificates - 1}).where(Tally.id == row["id"])
    assert (await _finding()).problems == 0

    # Changes made without the tally: a certificate revoked by hand, heads reported by hand.
    await TrainingCertificate.update({TrainingCertificate.revoked_on: date(2025, 5, 1)}).where(TrainingCertificate.id == ids[1])
    await TrainingSession.update({TrainingSession.reported_attendance: 150}).where(TrainingSession.id == heads)
    broken = await _finding()
    assert broken.problems == 2 and "awareness|2025-03|9999-12" in broken.detail


async def _subtree_rows() -> list[dict]:
    return await SubtreeTally.select(SubtreeTally.unit_path, SubtreeTally.kind, SubtreeTally.month, SubtreeTally.expires_month,
                                     SubtreeTally.certificates, SubtreeTally.attendances).order_by(SubtreeTally.kind, SubtreeTally.unit_path)


async def test_the_subtree_tally_counts_each_session_at_its_unit_and_every_unit_above(db) -> None:
    await _two_organisations_counted()
    assert await Tally.count().where(Tally.kind == "first_aider") == 2  # one row per organisation and sector
    rows = await _subtree_rows()
    scopes = ["/150000/", "/150000/150400/", "/150000/150400/150426/"]  # Inner Mongolia, Chifeng, Wengniute Banner
    assert rows == [
        *({"unit_path": path, "kind": "awareness", "month": date(2025, 3, 1), "expires_month": date(9999, 12, 1), "certificates": 0,
           "attendances": 40} for path in scopes),
        *({"unit_path": path, "kind": "first_aider", "month": date(2025, 3, 1), "expires_month": date(2028, 3, 1), "certificates": 4,
           "attendances": 0} for path in scopes),
    ]
    assert await _finding(SUBTREE_RULE) == consistency.Finding(SUBTREE_RULE, 0)

    await SubtreeTally.update({SubtreeTally.attendances: 41}).where(
        (SubtreeTally.kind == "awareness") & (SubtreeTally.unit_path == "/150000/150400/"))
    broken = await _finding(SUBTREE_RULE)
    assert broken.problems == 1 and "/150000/150400/|awareness|2025-03-01|9999-12-01" in broken.detail


async def test_the_migration_fills_the_subtree_tally_from_a_tally_already_kept(db) -> None:
    """A database upgraded with counts in its tally gets them summed into the new subtree tally by the migration's own step."""
    await _two_organisations_counted()
    kept = await _subtree_rows()
    await Table.raw("DELETE FROM training_subtree_tally")
    assert (await _finding(SUBTREE_RULE)).problems == 6  # two kinds at three units
    path = migrations_root() / "training" / "training_2026_12_07t02_40_00_000000.py"
    spec = importlib.util.spec_from_file_location("subtree_tally_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for step in (await migration.forwards()).raw:
        await step()
    assert await _subtree_rows() == kept
    assert (await _finding(SUBTREE_RULE)).problems == 0
