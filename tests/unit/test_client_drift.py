"""The Python client against the live app's OpenAPI document: same paths, methods, parameters and
models, and every v1 endpoint covered.

The client's models are the server's own classes, so a field cannot drift; what can drift is which
call uses which model, a path, a method or a parameter, and an endpoint added to the server without
a client method. The coverage test fails on the latter, naming each missing endpoint and the line
that adds it (src/pushwise/client/endpoints.py), so "every API v1 call is typed" stays true on main
instead of rotting quietly; endpoints that are not for a backend client are listed below with why.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel, TypeAdapter

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.client.calls import IDEMPOTENCY_HEADER, Call, Pages
from pushwise.client.endpoints import Endpoints
from pushwise.domain.clock import ManualClock
from pushwise.settings import Settings

NOT_FOR_THE_CLIENT = {
    ("GET", "/v1/unsubscribe/{token}"): "an HTML page a person opens from an e-mail",
    ("POST", "/v1/unsubscribe/{token}"): "the form on that page (and RFC 8058 one-click)",
    ("GET", "/v1/inbox/stream"): "a Server-Sent Events stream for the app's own client (web SDK)",
    ("POST", "/v1/vendor-receipts/{vendor}/{app_id}"): "where the phone makers post their receipts",
}
_IGNORED_KEYS = frozenset({"title", "description", "examples", "default"})


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home: Path = tmp_path_factory.mktemp("drift")
    settings = Settings(
        database_url=f"sqlite:///{home / 'pushwise.db'}",
        admin_key="pw_admin_drift-test-0123456789abcdef",
        secret_key="drift-test-secret-key-0123456789abcdef",
        secret_key_file=str(home / "pushwise.key"),
    )
    services = build_services(settings, clock=ManualClock(), rng=random.Random(1))
    return create_app(services).openapi()


def _calls() -> Iterator[Call[Any]]:
    for value in vars(Endpoints).values():
        if isinstance(value, Call):
            yield value


def _pages() -> Iterator[Pages[Any]]:
    for value in vars(Endpoints).values():
        if isinstance(value, Pages):
            yield value


def _resolved(node: Any, definitions: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """The schema with every `$ref` inlined and the words for people dropped, so a model compares by
    content whatever name FastAPI gave its component."""
    if isinstance(node, list):
        return [_resolved(item, definitions, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return (
            {"recursive": name} if name in seen else _resolved(definitions[name], definitions, (*seen, name))
        )
    return {
        key: _resolved(value, definitions, seen) for key, value in node.items() if key not in _IGNORED_KEYS
    }


def _optional(schema: Any) -> Any:
    """`X | None` as a body means "X, or no body": compare X."""
    variants = schema.get("anyOf", []) if isinstance(schema, dict) else []
    if len(variants) == 2 and {"type": "null"} in variants:
        return next(variant for variant in variants if variant != {"type": "null"})
    return schema


def _client_schema(annotation: Any, mode: str) -> Any:
    schema = TypeAdapter(annotation).json_schema(mode=mode)  # type: ignore[arg-type]
    return _resolved({k: v for k, v in schema.items() if k != "$defs"}, schema.get("$defs", {}))


def _operation(openapi: dict[str, Any], call: Call[Any]) -> dict[str, Any]:
    operation = openapi["paths"].get(call.path, {}).get(call.method.lower())
    assert operation is not None, f"{call.name}: the server has no {call.method} {call.path}"
    return operation


def _parameters(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == where}


def _success(operation: dict[str, Any]) -> tuple[str, Any]:
    """The success status and its JSON schema (e.g. 201 Created, where 200 Updated shares it)."""
    answers = {
        status: answer.get("content", {}).get("application/json", {}).get("schema")
        for status, answer in sorted(operation["responses"].items())
        if status.startswith("2")
    }
    with_body = [(status, schema) for status, schema in answers.items() if schema is not None]
    return with_body[0] if with_body else (min(answers), None)


@pytest.mark.parametrize("call", list(_calls()), ids=lambda call: call.name)
def test_each_call_matches_the_servers_path_parameters_and_models(
    openapi: dict[str, Any], call: Call[Any]
) -> None:
    operation = _operation(openapi, call)
    components = openapi["components"]["schemas"]
    assert _parameters(operation, "path") == set(call.path_parameters)
    assert _parameters(operation, "query") == set(call.query), f"{call.name}: query parameters"
    headers = {header.lower() for header in call.headers.values()}
    if call.idempotent_send:
        headers.add(IDEMPOTENCY_HEADER.lower())
    assert _parameters(operation, "header") == headers, f"{call.name}: header parameters"

    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if call.body is None:
        assert body is None, f"{call.name}: the server takes a body the client does not send"
    else:
        assert body is not None, f"{call.name}: the server takes no body"
        server = _optional(_resolved(body, components))
        assert server == _client_schema(call.body, "validation"), f"{call.name}: request body model"

    status, answer = _success(operation)
    if call.answer is type(None):
        assert answer is None, f"{call.name}: the server answers {status} with a body"
        assert status == "204", f"{call.name}: the server answers {status}, not 204 No Content"
    else:
        assert answer is not None, f"{call.name}: the server answers {status} without a JSON body"
        server = _resolved(answer, components)
        assert server == _client_schema(call.answer, "serialization"), f"{call.name}: answer model"


@pytest.mark.parametrize("pages", list(_pages()), ids=lambda pages: pages.name)
def test_each_iterator_walks_a_cursor_listing_of_its_items(pages: Pages[Any]) -> None:
    listing = pages.listing
    assert "cursor" in listing.query, f"{pages.name}: the listing takes no cursor"
    page_model = listing.answer
    assert issubclass(page_model, BaseModel)
    assert "next_cursor" in page_model.model_fields
    (item,) = get_args(page_model.model_fields["items"].annotation)
    assert item is pages.item, f"{pages.name}: yields {pages.item.__name__}, the page holds {item.__name__}"


def _type_name(schema: dict[str, Any]) -> str:
    return schema["$ref"].rsplit("/", 1)[1] if "$ref" in schema else "<the route's own type>"


def _suggested_line(method: str, path: str, operation: dict[str, Any]) -> str:
    """The line that would cover an operation, with its models named as the OpenAPI document does."""
    name = operation.get("operationId", "name").split("_v1_")[0]
    _, answer = _success(operation)
    arguments = [f'"{method}"', f'"{path}"', _type_name(answer) if answer else "NoContent"]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        arguments.append(f"body={_type_name(body)}")
    query = sorted(_parameters(operation, "query"))
    if query:
        arguments.append(f"query={tuple(query)!r}")
    return f"{name} = Call({', '.join(arguments)})"


def test_the_client_covers_every_v1_endpoint(openapi: dict[str, Any]) -> None:
    covered = {(call.method, call.path) for call in _calls()}
    missing = [
        f"  {method.upper()} {path}:\n      {_suggested_line(method.upper(), path, operation)}"
        for path, operations in openapi["paths"].items()
        if path.startswith("/v1/")
        for method, operation in operations.items()
        if (method.upper(), path) not in covered and (method.upper(), path) not in NOT_FOR_THE_CLIENT
    ]
    assert not missing, (
        "API v1 endpoints the Python client does not cover yet. Add a line for each to `Endpoints` in "
        "src/pushwise/client/endpoints.py, importing the models from pushwise.api.schemas (move a model "
        "defined in a route module there); answers that are not objects use the route's own type, e.g. "
        "dict[str, Any]. Suggested lines:\n" + "\n".join(missing)
    )


def test_what_the_client_leaves_out_still_exists(openapi: dict[str, Any]) -> None:
    for method, path in NOT_FOR_THE_CLIENT:
        assert method.lower() in openapi["paths"].get(path, {}), f"{method} {path} is gone: drop it here"
