"""The vendor simulators verify what the real services verify: signatures, required fields, classes."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import orjson
import pytest

from pushwise.simulators.china.faults import parse_vendor_faults
from pushwise.simulators.china.harness import new_credentials
from pushwise.simulators.china.huawei_honor import SimulatedHonor, SimulatedHuawei
from pushwise.simulators.china.oppo_vivo import SimulatedOppo, SimulatedVivo
from pushwise.simulators.china.service import SimulatedVendor, VendorAccount
from pushwise.simulators.china.xiaomi import SimulatedXiaomi
from pushwise.simulators.faults import FaultConfigError

NOW = 1_800_000_000.0


def make(cls: type[SimulatedVendor]) -> SimulatedVendor:
    account = VendorAccount(cls.vendor, new_credentials(cls.vendor))
    return cls(account, parse_vendor_faults(cls.vendor, {}), clock=lambda: NOW)


def answer(sim: SimulatedVendor, path: str, body: bytes, headers: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    reply = sim.answer("POST", path, headers or {}, body)
    parsed: dict = orjson.loads(reply.body)  # type: ignore[type-arg]
    return {"status": reply.status, **parsed}


def test_huawei_refuses_a_wrong_secret_and_a_message_without_category() -> None:
    sim = make(SimulatedHuawei)
    creds = sim.account.credentials
    bad = urlencode(
        {"grant_type": "client_credentials", "client_id": creds["client_id"], "client_secret": "x"}
    )
    assert answer(sim, "/oauth2/v3/token", bad.encode())["status"] == 400
    good = urlencode({"grant_type": "client_credentials", **creds})
    token = answer(sim, "/oauth2/v3/token", good.encode())["access_token"]
    message = {"message": {"android": {"notification": {"title": "t", "body": "b"}}, "token": ["a"]}}
    path = f"/v1/{creds['client_id']}/messages:send"
    refused = answer(sim, path, orjson.dumps(message), {"authorization": f"Bearer {token}"})
    assert refused["code"] == "80100003"
    assert answer(sim, path, orjson.dumps(message), {"authorization": "Bearer forged"})["code"] == "80200003"


def test_honor_needs_the_timestamp_header() -> None:
    sim = make(SimulatedHonor)
    token = sim.issue_token()
    body = {"android": {"notification": {"title": "t", "body": "b", "importance": "LOW"}}, "token": ["a"]}
    path = f"/api/v1/{sim.account.credentials['app_id']}/sendMessage"
    assert answer(sim, path, orjson.dumps(body), {"authorization": f"Bearer {token}"})["status"] == 400
    ok = answer(sim, path, orjson.dumps(body), {"authorization": f"Bearer {token}", "timestamp": "1"})
    assert ok["code"] == 200


def test_xiaomi_checks_the_app_secret_and_package() -> None:
    sim = make(SimulatedXiaomi)
    creds = sim.account.credentials
    form = {
        "registration_id": "r",
        "restricted_package_name": "com.other",
        "title": "t",
        "description": "d",
        "pass_through": "0",
        "notify_type": "-1",
    }
    key = {"authorization": f"key={creds['app_secret']}"}
    assert (
        answer(sim, "/v3/message/regid", urlencode(form).encode(), {"authorization": "key=x"})["code"]
        == 21301
    )
    assert answer(sim, "/v3/message/regid", urlencode(form).encode(), key)["code"] == 22022


def test_oppo_checks_the_signature_and_its_timestamp() -> None:
    sim = make(SimulatedOppo)
    creds = sim.account.credentials

    def auth(timestamp: str, secret: str) -> dict:  # type: ignore[type-arg]
        sign = hashlib.sha256((creds["app_key"] + timestamp + secret).encode()).hexdigest()
        return answer(
            sim,
            "/server/v1/auth",
            urlencode({"app_key": creds["app_key"], "timestamp": timestamp, "sign": sign}).encode(),
        )

    assert auth(str(int(NOW * 1000)), creds["master_secret"])["code"] == 0
    assert auth(str(int(NOW * 1000)), "wrong")["code"] == 14
    assert auth(str(int((NOW - 3600) * 1000)), creds["master_secret"])["code"] == 14


def test_vivo_requires_request_id_and_a_category_for_the_service_class() -> None:
    sim = make(SimulatedVivo)
    headers = {"authtoken": sim.issue_token()}
    base = {"regId": "r", "title": "t", "content": "c", "notifyType": 4, "skipType": 1}
    assert answer(sim, "/message/send", orjson.dumps(base), headers)["result"] == 10101
    service = {**base, "requestId": "q1", "classification": 1}
    assert answer(sim, "/message/send", orjson.dumps(service), headers)["result"] == 10096
    assert (
        answer(sim, "/message/send", orjson.dumps({**service, "category": "ORDER"}), headers)["result"] == 0
    )


def test_a_fault_a_vendor_has_no_code_for_is_refused() -> None:
    with pytest.raises(FaultConfigError):
        parse_vendor_faults("huawei", {"error_rates": {"quota_spent": 0.1}})
    with pytest.raises(FaultConfigError):
        parse_vendor_faults("vivo", {"error_rates": {"nonsense": 0.1}})
