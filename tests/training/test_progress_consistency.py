"""`rescueops db check`'s training rule: the tally equals a recount of the certificates not revoked and the awareness
sessions' reported heads; a tampered tally row, or a count changed behind the tally's back, is reported."""

from __future__ import annotations

from datetime import date

from rescueops.db import consistency
from rescueops.training.tables import CourseKind, Tally, TrainingCertificate, TrainingSession
from tests.training import builders
from tests.training.test_progress_counts import issue, report_heads, revoke

RULE = "the training tally equals a recount of certificates and awareness attendances"


async def _finding() -> consistency.Finding:
    return next(f for f in await consistency.check() if f.rule == RULE)


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
