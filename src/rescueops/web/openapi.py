"""OpenAPI documentation of routes that answer with one of several kinds of file.

Litestar documents a route's success response with the route's one ``media_type``; a download that may be a PDF or
an image (or a spreadsheet or CSV) names each type it can send, so clients and the schema fuzzing know them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema


def file_operation(*media_types: str) -> type[Operation]:
    """An ``operation_class`` for a route handler whose success response is a file of any of ``media_types``."""

    @dataclass
    class FileOperation(Operation):
        def __post_init__(self) -> None:
            for status, response in (self.responses or {}).items():
                if status.startswith("2") and isinstance(response, OpenAPIResponse):
                    response.content = {media: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, content_media_type=media))
                                        for media in media_types}

    return FileOperation
