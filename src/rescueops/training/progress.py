"""Progress against the yearly targets and the population: the running tally and the pages' counts.

The tally is kept in the caller's transaction by one set-based statement per change (an issue run, a revocation, an
awareness report), so the progress pages sum a few thousand tally rows instead of millions of certificates.
"""

from __future__ import annotations

from collections.abc import Sequence

from piccolo.table import Table

from rescueops.db.engine import database

NO_EXPIRY = "9999-12-01"


def _month(column: str) -> str:
    """SQL for the first day of ``column``'s month, on either engine."""
    if database().engine_type == "postgres":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


_UPSERT = (
    " ON CONFLICT (unit_path, organisation, sector, kind, month, expires_month) DO UPDATE SET"
    " certificates = training_tally.certificates + excluded.certificates,"
    " attendances = training_tally.attendances + excluded.attendances"
)


async def tally_certificates(certificate_ids: Sequence[int], sign: int) -> None:
    """Count certificates in (``sign`` 1, on issue) or out (``sign`` -1, on revocation), inside the caller's transaction."""
    if not certificate_ids:
        return
    if sign not in (1, -1):
        raise ValueError("sign is 1 or -1")
    ids = ", ".join(str(int(i)) for i in certificate_ids)
    await Table.raw(
        "INSERT INTO training_tally (unit_path, organisation, sector, kind, month, expires_month, certificates, attendances)"
        f" SELECT c.unit_path, COALESCE(s.organisation, 0), s.sector, c.kind, {_month('c.issued_on')},"
        f" COALESCE({_month('c.expires_on')}, '{NO_EXPIRY}'), {sign} * COUNT(*), 0"
        " FROM training_certificate c JOIN training_session s ON s.id = c.session"
        f" WHERE c.id IN ({ids})"
        " GROUP BY c.unit_path, COALESCE(s.organisation, 0), s.sector, c.kind,"
        f" {_month('c.issued_on')}, COALESCE({_month('c.expires_on')}, '{NO_EXPIRY}')" + _UPSERT
    )


async def tally_attendance(session_id: int, delta: int) -> None:
    """Add ``delta`` heads (negative to correct) to an awareness session's month, inside the caller's transaction."""
    if delta == 0:
        return
    await Table.raw(
        "INSERT INTO training_tally (unit_path, organisation, sector, kind, month, expires_month, certificates, attendances)"
        f" SELECT s.unit_path, COALESCE(s.organisation, 0), s.sector, c.kind, {_month('s.starts_on')}, '{NO_EXPIRY}', 0, {{}}"
        " FROM training_session s JOIN training_course_version v ON v.id = s.course_version"
        " JOIN training_course c ON c.id = v.course WHERE s.id = {}" + _UPSERT,
        int(delta), int(session_id),
    )
