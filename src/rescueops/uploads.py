"""What every upload and download shares: how large a request may be, which document files are kept, the file name shown.

The request limits are enforced by Litestar before a handler runs (``request_max_body_size``), so an oversized body is a
413 with nothing read into a service and nothing written. Stored files are always named by the server; the name a
client sent is only ever shown (``display_name``), never used as a path.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from litestar import Response

from rescueops.errors import InvalidInput

MIB = 1024 * 1024
# Any JSON or form body (the app's default): a label sheet of 500 asset tags like CF-WNT-BOAT-0001 is 10 KB.
BODY_MAX_BYTES = 1 * MIB
# A roster or equipment spreadsheet (one team's, at most spreadsheets.MAX_ROWS rows).
SPREADSHEET_MAX_BYTES = 5 * MIB
# A scanned certificate or insurance policy, a grading document: a phone photo or a few scanned pages.
DOCUMENT_MAX_BYTES = 10 * MIB
# Multipart framing: boundaries, part headers and the small fields sent with the file.
_MULTIPART_SLACK = 64 * 1024
SPREADSHEET_REQUEST_MAX_BYTES = SPREADSHEET_MAX_BYTES + _MULTIPART_SLACK
DOCUMENT_REQUEST_MAX_BYTES = DOCUMENT_MAX_BYTES + _MULTIPART_SLACK

DOCUMENT_TYPES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
# What a file of each type starts with: a file is kept only if it is what its declared type says.
_SIGNATURES = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


def megabytes(size: int) -> str:
    return f"{size / MIB:.0f} MB"  # the request limits are a file size plus a little framing: 5 MB, not 5.0625


def document_type(content: bytes, content_type: str | None, what: str) -> str:
    """The media type of an uploaded document (PDF, JPEG or PNG), checked against its first bytes and its size."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in DOCUMENT_TYPES:
        raise InvalidInput(f"{what} is a PDF, JPEG or PNG file.", code="bad_file_type")
    if not content or len(content) > DOCUMENT_MAX_BYTES:
        raise InvalidInput(f"{what} is between 1 byte and {megabytes(DOCUMENT_MAX_BYTES)}.", code="bad_file_size")
    if not content.startswith(_SIGNATURES[media]):
        raise InvalidInput(f"{what} is a PDF, JPEG or PNG file: this one's content is not a {DOCUMENT_TYPES[media][1:].upper()}.",
                           code="bad_file_type")
    return media


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def display_name(name: str | None, default: str) -> str:
    """A client's file name reduced to something safe to show and log: the last path part, no control characters,
    none of the characters Windows refuses, not hidden (a leading dot) nor a Windows device name, at most 200 characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = _UNSAFE.sub("_", base).strip()
    if base.startswith(".") or _WINDOWS_DEVICES.match(base):
        base = "_" + base
    return base[-200:] or default


def attachment(content: bytes, name: str, media_type: str) -> Response:
    """A download: always saved, never shown inline (an uploaded file is not a page of this site), the name encoded
    (RFC 6266 / 5987) so no character of it can end the header or the parameter."""
    fallback = display_name(name, "download").encode("ascii", "replace").decode().replace("?", "_")
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
    })
