"""Every vendor code of docs/china.md maps to its outcome; unknown codes are handled generically."""

from __future__ import annotations

import orjson
import pytest

from pushwise.domain.china.errors import (
    HUAWEI_CODES,
    OPPO_CODES,
    VIVO_CODES,
    XIAOMI_CODES,
    classify_honor,
    classify_huawei,
    classify_oppo,
    classify_vivo,
    classify_xiaomi,
)
from pushwise.domain.outcomes import OutcomeKind as K


@pytest.mark.parametrize(("code", "kind"), sorted(HUAWEI_CODES.items()))
def test_huawei_code(code: str, kind: K) -> None:
    outcome = classify_huawei(200, {"code": code, "msg": "m", "requestId": "r1"}).outcome
    if code == "80300008":
        assert (outcome.kind, outcome.reason) == (K.PERMANENT, "PayloadTooLarge")
    else:
        assert outcome.kind is kind
        assert outcome.reason == ("" if kind is K.DELIVERED else f"huawei:{code}")


def test_huawei_partial_success_fails_only_the_listed_tokens() -> None:
    msg = orjson.dumps({"success": 1, "failure": 1, "illegal_tokens": ["dead"]}).decode()
    answer = classify_huawei(200, {"code": "80100000", "msg": msg, "requestId": "r"})
    assert answer.for_token("ok").kind is K.DELIVERED
    assert (answer.for_token("dead").kind, answer.for_token("dead").reason) == (
        K.TOKEN_DEAD,
        "huawei:80100000",
    )


@pytest.mark.parametrize(("status", "kind"), [(502, K.RETRY), (503, K.RETRY), (401, K.REFRESH_CREDENTIALS)])
def test_huawei_http_statuses(status: int, kind: K) -> None:
    assert classify_huawei(status, None).outcome.kind is kind


@pytest.mark.parametrize(("code", "kind"), sorted(XIAOMI_CODES.items()))
def test_xiaomi_code(code: int, kind: K) -> None:
    body = {"result": "ok" if code == 0 else "error", "code": code, "data": {"id": "m1"}}
    outcome = classify_xiaomi(200, body).outcome
    assert outcome.kind is kind
    assert outcome.provider_message_id == ("m1" if kind is K.DELIVERED else None)


def test_xiaomi_no_valid_targets_is_a_dead_token() -> None:
    outcome = classify_xiaomi(200, {"result": "error", "code": 20301, "reason": "No valid targets!"}).outcome
    assert (outcome.kind, outcome.reason) == (K.TOKEN_DEAD, "xiaomi:NoValidTargets")


@pytest.mark.parametrize(("code", "kind"), sorted(OPPO_CODES.items()))
def test_oppo_code(code: int, kind: K) -> None:
    outcome = classify_oppo(200, {"code": code, "message": "m", "data": {"messageId": "x"}}).outcome
    assert outcome.kind is kind
    if kind is not K.DELIVERED:
        assert outcome.reason == f"oppo:{code}"


def test_oppo_batch_items_decide_per_token() -> None:
    items = [
        {"registrationId": "ok", "messageId": "1", "errorCode": 0},
        {"registrationId": "dead", "errorCode": 10000},
        {"registrationId": "full", "errorCode": 33},
        {"registrationId": "odd", "errorCode": 77777},
    ]
    answer = classify_oppo(200, {"code": 0, "data": items})
    assert answer.for_token("ok").kind is K.DELIVERED
    assert answer.for_token("dead").reason == "oppo:10000"
    assert answer.for_token("dead").kind is K.TOKEN_DEAD
    assert answer.for_token("full").kind is K.QUOTA_SPENT
    assert answer.for_token("odd").kind is K.PERMANENT


@pytest.mark.parametrize(("code", "kind"), sorted(VIVO_CODES.items()))
def test_vivo_code(code: int, kind: K) -> None:
    assert classify_vivo(200, {"result": code, "desc": "d", "taskId": "t"}).outcome.kind is kind


@pytest.mark.parametrize(("status", "kind"), [(1, K.TOKEN_DEAD), (2, K.TOKEN_DEAD), (4, K.CONFIGURATION)])
def test_vivo_invalid_user(status: int, kind: K) -> None:
    single = classify_vivo(200, {"result": 0, "invalidUser": {"status": status, "userid": "t"}}).outcome
    assert (single.kind, single.reason) == (kind, f"vivo:invalidUser.status={status}")
    listed = classify_vivo(200, {"result": 0, "invalidUsers": [{"regId": "t", "status": status}]})
    assert listed.for_token("t").kind is kind
    assert listed.for_token("other").kind is K.DELIVERED


def test_honor_success_with_expired_and_failed_tokens() -> None:
    data = {"sendResult": True, "requestId": "r", "failTokens": ["bad"], "expireTokens": ["gone"]}
    answer = classify_honor(200, {"code": 200, "message": "success", "data": data})
    assert answer.for_token("fine").kind is K.DELIVERED
    assert (answer.for_token("gone").kind, answer.for_token("gone").reason) == (
        K.TOKEN_DEAD,
        "honor:expireTokens",
    )
    assert answer.for_token("bad").kind is K.PERMANENT


@pytest.mark.parametrize(
    ("classify", "status", "kind"),
    [
        (classify_honor, 401, K.REFRESH_CREDENTIALS),
        (classify_honor, 503, K.RETRY),
        (classify_honor, 429, K.RETRY),
        (classify_honor, 400, K.PERMANENT),
        (classify_vivo, 401, K.REFRESH_CREDENTIALS),
        (classify_vivo, 500, K.RETRY),
        (classify_huawei, 400, K.PERMANENT),
        (classify_xiaomi, 503, K.RETRY),
        (classify_oppo, 502, K.RETRY),
    ],
)
def test_unconfirmed_answers_are_handled_generically(classify, status: int, kind: K) -> None:  # type: ignore[no-untyped-def]
    outcome = classify(status, {"code": 987654, "result": 987654}).outcome
    assert outcome.kind is kind
    assert ":" in outcome.reason  # the vendor's code or status stays searchable


@pytest.mark.parametrize(
    ("classify", "body"),
    [
        (classify_huawei, {"code": "99999999"}),
        (classify_xiaomi, {"result": "error", "code": 99999}),
        (classify_oppo, {"code": 99999}),
        (classify_vivo, {"result": 99999}),
        (classify_honor, {"code": 99999}),
    ],
)
def test_an_unknown_code_with_http_200_is_permanent(classify, body: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    assert classify(200, body).outcome.kind is K.PERMANENT
