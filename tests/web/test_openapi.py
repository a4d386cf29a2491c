"""The OpenAPI schema names every response the API can give (tests/reliability fuzzes the API against it)."""

from __future__ import annotations

ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "422"}


async def test_every_api_operation_documents_the_error_bodies(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = [(path, method, operation) for path, item in schema["paths"].items() if path.startswith("/api/")
                  for method, operation in item.items() if isinstance(operation, dict) and "responses" in operation]
    assert len(operations) > 150
    for path, method, operation in operations:
        responses = operation["responses"]
        assert ERROR_STATUSES <= set(responses), (method, path, sorted(responses))
        for status in ERROR_STATUSES:
            assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    assert schema["components"]["schemas"]["ErrorOut"]["required"] == ["code", "message"]
    assert "429" in schema["paths"]["/api/v1/auth/token"]["post"]["responses"]  # login throttling
    assert "503" in schema["paths"]["/health/ready"]["get"]["responses"]


async def test_downloads_document_each_kind_of_file_they_send(client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]

    def success_types(path: str, method: str = "get") -> list[str]:
        return sorted(paths[path][method]["responses"]["200"]["content"])

    assert success_types("/api/v1/equipment/labels", "post") == ["application/pdf", "image/svg+xml"]
    assert success_types("/api/v1/teams/{code}/roster/export") == [
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv"]
    assert success_types("/api/v1/grading/assessments/{assessment_id}/documents/{document_id}") == [
        "application/pdf", "image/jpeg", "image/png"]
    assert success_types("/api/v1/equipment/items/template.xlsx") == [
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
