"""Bad input of every kind gets the one JSON error shape."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


async def test_unparseable_json_is_400(client, make_app) -> None:
    shop = await make_app()
    for headers in ({"content-type": "application/json"}, {}):
        response = await client.post(
            "/v1/devices", content=b'{"platform": "ios",', headers={**shop.client_headers, **headers}
        )
        assert_error(response, 400, "malformed_json")


async def test_a_non_json_body_is_415(client, make_app) -> None:
    shop = await make_app()
    response = await client.post(
        "/v1/devices",
        content=b"platform=ios",
        headers={**shop.client_headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415, "unsupported_media_type")


async def test_wrong_types_are_422_with_every_problem_listed(client, make_app) -> None:
    shop = await make_app()
    response = await client.post(
        "/v1/devices", json={"platform": 7, "token": ["x"], "user_id": ""}, headers=shop.client_headers
    )
    error = assert_error(response, 422, "validation_error")
    assert error["field"] == "platform"
    assert {item["field"] for item in error["details"]} == {"platform", "token", "user_id"}
    assert "input" not in str(error["details"])


async def test_a_declared_oversize_body_is_413_before_it_is_read(client, make_app, settings) -> None:
    shop = await make_app()
    body = b'{"platform": "ios", "token": "' + b"a" * settings.max_body_bytes + b'"}'
    response = await client.post("/v1/devices", content=body, headers=shop.client_headers)
    assert_error(response, 413, "body_too_large")


async def test_a_chunked_oversize_body_is_413_while_it_streams(client, make_app, settings) -> None:
    shop = await make_app()

    async def chunks():
        yield b'{"platform": "ios", "token": "'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    response = await client.post("/v1/devices", content=chunks(), headers=shop.client_headers)
    assert_error(response, 413, "body_too_large")


async def test_a_chunked_body_within_the_limit_is_served(client, make_app) -> None:
    shop = await make_app()

    async def chunks():
        yield b'{"platform": "ios", '
        yield b'"token": "' + b"ab" * 32 + b'"}'

    response = await client.post("/v1/devices", content=chunks(), headers=shop.client_headers)
    assert response.status_code == 201, response.text


async def test_unknown_paths_and_methods_answer_in_the_error_shape(client, make_app) -> None:
    shop = await make_app()
    assert_error(await client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(await client.patch("/v1/devices", headers=shop.client_headers), 405, "method_not_allowed")
    error = assert_error(
        await client.get("/v1/devices/dev_unknown", headers=shop.server_headers), 404, "not_found"
    )
    assert error["message"] == "no such device"


async def test_openapi_and_docs_are_served(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/v1/apps", "/v1/devices", "/v1/devices:batch", "/v1/users/{external_id}", "/healthz"} <= set(
        spec["paths"]
    )
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
