"""The OpenAPI document, with every operation's error answers in the one error shape.

FastAPI documents only its own validation error (`HTTPValidationError`, a shape pushwise never
sends). Tools that read the document (client generators, schemathesis in CI) must see what
really comes back: `{"error": {"code", "message", "field"?, "details"?}}` for every 4xx and 5xx.
Every operation gets them here, so a new route is documented without anyone remembering to.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

# Statuses any operation may answer with an error (see docs/api.md "Errors").
ERROR_STATUSES = {
    "400": "Malformed request (bad JSON, bad cursor)",
    "401": "No valid credentials",
    "403": "Wrong kind of key for this operation",
    "404": "No such object (also another app's)",
    "408": "Headers or body too slow",
    "409": "Conflict (idempotency key, assignment)",
    "413": "Body too large",
    "415": "Body not JSON",
    "422": "Invalid input; `field` names it",
    "429": "Rate limited; see `Retry-After`",
    "503": "Overloaded or not ready; see `Retry-After`",
}


# OpenAPI links: which answer's field feeds which operation's path parameter. Clients (and
# schemathesis's stateful phase) follow them from a created object to what can be done with it.
Link = tuple[str, str, str, dict[str, str]]  # source status, target method, target path, parameters
_DEVICE = {"device_id": "$response.body#/id"}
_NOTIFICATION = {"notification_id": "$response.body#/id"}
_USER = {"external_id": "$request.path.external_id"}
LINKS: dict[tuple[str, str], list[Link]] = {
    ("post", "/v1/devices"): [
        ("201", method, "/v1/devices/{device_id}", _DEVICE) for method in ("get", "patch", "delete")
    ],
    ("post", "/v1/notifications"): [
        ("202", "get", "/v1/notifications/{notification_id}", _NOTIFICATION),
        ("202", "get", "/v1/notifications/{notification_id}/deliveries", _NOTIFICATION),
        ("202", "post", "/v1/notifications/{notification_id}/cancel", _NOTIFICATION),
    ],
    ("put", "/v1/users/{external_id}"): [
        (status, method, path, _USER)
        for status in ("200", "201")
        for method, path in (
            ("get", "/v1/users/{external_id}"),
            ("delete", "/v1/users/{external_id}"),
            ("get", "/v1/users/{external_id}/inbox"),
            ("post", "/v1/users/{external_id}/token"),
            ("get", "/v1/users/{external_id}/preferences"),
            ("patch", "/v1/users/{external_id}/preferences"),
        )
    ],
    ("post", "/v1/experiments"): [
        ("201", "get", "/v1/experiments/{experiment_id}", {"experiment_id": "$response.body#/id"}),
        (
            "201",
            "post",
            "/v1/experiments/{experiment_id}/assignments",
            {"experiment_id": "$response.body#/id"},
        ),
    ],
    ("post", "/v1/apps/{app_id}/keys"): [
        (
            "201",
            "delete",
            "/v1/apps/{app_id}/keys/{key_id}",
            {"app_id": "$request.path.app_id", "key_id": "$response.body#/id"},
        )
    ],
}


class ErrorDetail(BaseModel):
    field: str | None = None
    code: str
    message: str


class ErrorContent(BaseModel):
    code: str = Field(description="For programs: stable, snake_case.")
    message: str = Field(description="For people.")
    field: str | None = Field(default=None, description="The offending input's path, e.g. `events[3].type`.")
    details: list[ErrorDetail] | None = Field(
        default=None, description="Every problem, when there are several."
    )


class ErrorBody(BaseModel):
    error: ErrorContent


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = with_error_answers(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_error_answers(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorBody"] = error_schema
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    answer = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    paths = schema.get("paths", {})
    for path_item in paths.values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses[status] = {"description": description, **answer}
    _add_links(paths)
    return schema


def _add_links(paths: dict[str, Any]) -> None:
    for (method, path), links in LINKS.items():
        source = paths.get(path, {}).get(method)
        if source is None:
            continue
        for status, target_method, target_path, parameters in links:
            if target_method not in paths.get(target_path, {}) or status not in source["responses"]:
                continue
            pointer = "#/paths/" + target_path.replace("~", "~0").replace("/", "~1") + "/" + target_method
            name = f"{target_method}{target_path}"
            source["responses"][status].setdefault("links", {})[name] = {
                "operationRef": pointer,
                "parameters": parameters,
            }
