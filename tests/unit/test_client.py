"""The Python client's own logic against a mock transport: requests built from the server's models,
retries and their waits (on an injected clock), idempotency keys, errors and page iteration."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pushwise.client import AsyncClient, Client, PushwiseConnectionError, PushwiseError, Retries
from pushwise.client.models import ContentIn, TargetIn
from pushwise.domain.clock import ManualClock

ACCEPTED = {"id": "ntf_1", "status": "accepted", "recipients": 1}
Answer = Callable[[httpx.Request], httpx.Response]


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": f"{code} happened", "field": "to"}}
    return httpx.Response(status, json=body, headers=headers)


class Server:
    """Answers in turn from a script and keeps every request it saw."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def waits(clock: ManualClock) -> list[float]:
    return []


def client_for(server: Server, clock: ManualClock, waits: list[float], **options: Any) -> Client:
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    return Client(
        "http://pushwise.test",
        "pw_srv_key",
        transport=httpx.MockTransport(server),
        clock=clock,
        sleep=sleep,
        rng=random.Random(7),
        **options,
    )


@pytest.fixture
def make(clock: ManualClock, waits: list[float]) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def build(server: Server, **options: Any) -> Client:
        made.append(client_for(server, clock, waits, **options))
        return made[-1]

    yield build
    for client in made:
        client.close()


def test_a_send_carries_the_body_the_key_and_a_generated_idempotency_key(make: Callable[..., Client]) -> None:
    server = Server(httpx.Response(202, json=ACCEPTED), httpx.Response(202, json=ACCEPTED))
    client = make(server)
    sent = client.send_notification(to={"user_ids": ["u1"]}, content=ContentIn(title="Shipped"))
    client.send_notification(to=TargetIn(user_ids=["u1"]), content={"title": "Shipped"})
    assert sent.id == "ntf_1"
    first, second = server.requests
    assert first.headers["authorization"] == "Bearer pw_srv_key"
    assert json.loads(first.content) == {"to": {"user_ids": ["u1"]}, "content": {"title": "Shipped"}}
    assert len(first.headers["idempotency-key"]) == 32
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


def test_a_given_idempotency_key_is_used(make: Callable[..., Client]) -> None:
    server = Server(httpx.Response(202, json=ACCEPTED))
    make(server).send_notification(to={"all": True}, content={"body": "hi"}, idempotency_key="order-42")
    assert server.requests[0].headers["idempotency-key"] == "order-42"


def test_429_waits_at_least_retry_after_and_resends_the_same_request(
    make: Callable[..., Client], waits: list[float]
) -> None:
    server = Server(error(429, "rate_limited", {"Retry-After": "7"}), httpx.Response(202, json=ACCEPTED))
    assert make(server).send_notification(to={"all": True}, content={"body": "hi"}).id == "ntf_1"
    assert len(waits) == 1
    assert waits[0] >= 7
    first, again = server.requests
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"]
    assert first.content == again.content


def test_5xx_is_retried_with_growing_jittered_waits_then_raised_with_status_and_code(
    make: Callable[..., Client], waits: list[float]
) -> None:
    server = Server(*(error(500, "internal_error") for _ in range(4)))
    client = make(server, retries=Retries(attempts=4, base_seconds=1.0, cap_seconds=100.0))
    with pytest.raises(PushwiseError) as raised:
        client.get_notification("ntf_1")
    assert (raised.value.status, raised.value.code, raised.value.field) == (500, "internal_error", "to")
    assert len(server.requests) == 4
    assert len(waits) == 3
    assert all(0 <= wait <= 2**index for index, wait in enumerate(waits))


def test_a_call_that_could_act_twice_is_not_retried_after_a_500_but_is_after_a_503(
    make: Callable[..., Client],
) -> None:
    created = {
        "id": "app_1",
        "name": "shop",
        "server_key": "s",
        "client_key": "c",
        "created_at": "2026-01-01T00:00:00Z",
    }
    server = Server(error(503, "overloaded", {"Retry-After": "1"}), httpx.Response(201, json=created))
    client = make(server)
    assert client.create_app(name="shop").id == "app_1"
    server = Server(error(500, "internal_error"))
    with pytest.raises(PushwiseError) as raised:
        make(server).create_app(name="shop")
    assert raised.value.status == 500
    assert len(server.requests) == 1


def test_a_retry_after_beyond_the_longest_wait_gives_up_at_once(
    make: Callable[..., Client], waits: list[float]
) -> None:
    server = Server(error(429, "rate_limited", {"Retry-After": "3600"}))
    with pytest.raises(PushwiseError) as raised:
        make(server).get_device("dev_1")
    assert raised.value.code == "rate_limited"
    assert waits == []


def test_4xx_is_raised_at_once(make: Callable[..., Client]) -> None:
    server = Server(error(404, "not_found"))
    with pytest.raises(PushwiseError) as raised:
        make(server).get_user("nobody")
    assert (raised.value.status, raised.value.code) == (404, "not_found")
    assert len(server.requests) == 1


def test_an_answer_not_in_pushwise_shape_still_gives_its_status(make: Callable[..., Client]) -> None:
    server = Server(httpx.Response(418, text="<html>teapot</html>"))
    with pytest.raises(PushwiseError) as raised:
        make(server).get_device("dev_1")
    assert (raised.value.status, raised.value.code) == (418, "http_418")


def test_a_refused_connection_is_retried_then_raised(make: Callable[..., Client], waits: list[float]) -> None:
    server = Server(*(httpx.ConnectError("refused") for _ in range(4)))
    with pytest.raises(PushwiseConnectionError) as raised:
        make(server).create_app(name="shop")
    assert raised.value.status is None
    assert raised.value.code == "connection_failed"
    assert len(waits) == 3


def test_a_connection_lost_mid_call_is_retried_only_when_repeating_is_safe(
    make: Callable[..., Client],
) -> None:
    server = Server(httpx.ReadError("lost"))
    with pytest.raises(PushwiseConnectionError):
        make(server).issue_key("app_1", kind="server")
    assert len(server.requests) == 1
    server = Server(httpx.ReadError("lost"), httpx.Response(202, json=ACCEPTED))
    assert make(server).send_notification(to={"all": True}, content={"body": "hi"}).id == "ntf_1"


def test_a_body_the_server_would_refuse_is_refused_before_sending(make: Callable[..., Client]) -> None:
    server = Server()
    with pytest.raises(PushwiseError) as raised:
        make(server).send_notification(to={"user_ids": ["u1"]}, content={"title": "x"}, ttl_seconds=-1)
    assert (raised.value.status, raised.value.code, raised.value.field) == (
        422,
        "validation_error",
        "ttl_seconds",
    )
    assert server.requests == []


def test_path_query_and_user_token_arguments(make: Callable[..., Client]) -> None:
    page = {"items": [], "next_cursor": None, "unread_count": 0}
    server = Server(httpx.Response(200, json=page), httpx.Response(200, json=page))
    client = make(server)
    client.list_inbox("a/b c", unread=True, limit=10)
    client.list_my_inbox(user_token="tok")
    by_server, by_user = server.requests
    assert by_server.url.raw_path == b"/v1/users/a%2Fb%20c/inbox?unread=true&limit=10"
    assert by_user.headers["x-pushwise-user-token"] == "tok"
    with pytest.raises(TypeError):
        client.get_device()
    with pytest.raises(TypeError):
        client.get_device("dev_1", colour="blue")


def test_no_content_answers_none(make: Callable[..., Client]) -> None:
    server = Server(httpx.Response(204))
    assert make(server).delete_device("dev_1") is None
    assert server.requests[0].method == "DELETE"


def delivery(number: int) -> dict[str, Any]:
    return {
        "id": str(number),
        "device_id": "dev",
        "user_id": "u1",
        "channel": "apns",
        "state": "delivered",
        "attempts": 1,
        "last_error": None,
        "sent_at": None,
        "outcome_at": None,
        "next_attempt_at": None,
    }


def paged_server() -> Server:
    return Server(
        httpx.Response(200, json={"items": [delivery(1), delivery(2)], "next_cursor": "2"}),
        httpx.Response(200, json={"items": [delivery(3)], "next_cursor": "3"}),
        httpx.Response(200, json={"items": [], "next_cursor": None}),
    )


def test_iterators_follow_next_cursor_to_the_end(make: Callable[..., Client]) -> None:
    server = paged_server()
    ids = [item.id for item in make(server).iter_deliveries("ntf_1", state="delivered", limit=2)]
    assert ids == ["1", "2", "3"]
    assert [request.url.params.get("cursor") for request in server.requests] == [None, "2", "3"]
    assert {request.url.params["state"] for request in server.requests} == {"delivered"}


async def test_the_async_client_retries_and_pages_the_same_way(clock: ManualClock) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    server = paged_server()
    server.answers.insert(0, error(503, "overloaded", {"Retry-After": "2"}))
    transport = httpx.MockTransport(server)
    async with AsyncClient(
        "http://pushwise.test",
        "pw_srv_key",
        transport=transport,
        clock=clock,
        sleep=sleep,
        rng=random.Random(1),
    ) as client:
        ids = [item.id async for item in client.iter_deliveries("ntf_1")]
    assert ids == ["1", "2", "3"]
    assert len(waits) == 1
    assert waits[0] >= 2
