"""The OpenAPI document is complete, the interactive docs are served, and a property-based run
(schemathesis, generating requests from the app's own OpenAPI document) finds no 5xx and no
response that breaks its documented schema, status code or content type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_support import Api, City, Server, build_city, start_ledger_serve
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_STATUSES = {"400", "401", "403", "404", "409", "413", "422", "503"}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def openapi(api: Api) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


UNSTORED_KEYS = ("/events", "/drafts/{command}")


def test_openapi_documents_every_operation_with_its_problems(sqlite_api: Api) -> None:
    document = openapi(sqlite_api)
    assert document["openapi"].startswith("3.")
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    served = {(r.path, m.lower()) for r in _app_routes() for m in r.methods}
    documented = set()
    for path, method, operation in operations(document):
        documented.add((path, method))
        where = f"{method.upper()} {path}"
        assert operation.get("operationId"), where
        assert operation.get("summary") or operation.get("description"), where
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert success, f"{where}: no success response"
        for code in success:
            assert responses[code].get("content") or code == "204", f"{where} {code}"
        assert set(responses) >= PROBLEM_STATUSES, f"{where}: {sorted(responses)}"
        page = "text/html" in responses.get("200", {}).get("content", {})
        for code in PROBLEM_STATUSES:
            content = responses[code]["content"]
            assert responses[code]["description"], f"{where} {code}"
            if page and "application/problem+json" not in content:
                # a page people open in a browser answers its errors as a page too
                assert "text/html" in content, f"{where} {code}"
                continue
            assert content["application/problem+json"]["schema"]["$ref"] == PROBLEM_REF, where
        names = {p["name"].lower(): p for p in operation.get("parameters", [])}
        if method in WRITE_METHODS and "authorization" in names and path not in UNSTORED_KEYS:
            # every authenticated write (POST /events carries its key inside the signed body,
            # POST /drafts stores nothing and carries the key the bodies will be signed with)
            assert names["idempotency-key"]["required"] is True, where
            assert names["idempotency-key"]["in"] == "header", where
    assert served <= documented, served - documented
    for expected in [
        ("/activities/{activity_id}/roster", "post"),
        ("/leaves/{leaf_index}", "get"),
        ("/log/checkpoint", "get"),
        ("/receipts/{leaf_index}", "get"),
        ("/proofs/consistency", "get"),
        ("/events", "post"),
        ("/metrics", "get"),
    ]:
        assert expected in documented


def _app_routes() -> list[Any]:
    from fastapi.routing import APIRoute

    from api.app import create_app
    from api.settings import Settings

    app = create_app(Settings(database_url="memory://"))
    return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]


def test_interactive_docs_are_served(sqlite_api: Api) -> None:
    docs = sqlite_api.client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger" in docs.text.lower() and "/openapi.json" in docs.text
    redoc = sqlite_api.client.get("/redoc")
    assert redoc.status_code == 200


# --- the property-based run ----------------------------------------------------------------
#
# schemathesis generates requests from the served OpenAPI document, valid ones and invalid ones,
# and checks each response. Its pytest plugin does not load under pytest 9, so the cases are
# drawn with hypothesis directly, one operation at a time, against a server of its own (random
# writes must not disturb the other tests' ledger).

CHECKS = [
    st_checks.not_a_server_error,
    st_checks.response_schema_conformance,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
]
EXAMPLES_PER_OPERATION = 4


@pytest.fixture(scope="module")
def property_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, City]]:
    cwd = tmp_path_factory.mktemp("property-server")
    db_url = f"sqlite:///{cwd / 'ledger.db'}"
    city = build_city(db_url, cwd, volunteers=3, fillers=0)
    server = start_ledger_serve(db_url, cwd)
    try:
        yield server, city
    finally:
        server.stop()


@pytest.mark.slow
def test_no_request_makes_a_5xx_or_breaks_the_schema(
    property_server: tuple[Server, City],
) -> None:
    server, city = property_server
    schema = schemathesis.openapi.from_url(server.base_url + "/openapi.json")
    headers = {"Authorization": f"Bearer {city.keys['root']}"}
    failures: list[str] = []
    operations_run = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations_run += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            )
            def run(case: Any) -> None:
                case.call_and_validate(
                    base_url=server.base_url, headers=headers, checks=CHECKS, timeout=30
                )

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, or unconstrained strings only)
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.label} [{mode.value}]: {str(error)[:1500]}")
    assert operations_run >= 50
    assert not failures, "\n\n".join(failures)
