"""Simulated Xiaomi MiPush v3: `Authorization: key=<AppSecret>`, form-encoded regId sends.

Verified: the AppSecret (21301), `restricted_package_name` (22022), 1-1,000 regIds,
`title` (< 50 characters), `description` (< 128), `pass_through` and `notify_type`. A
push is service class when `extra.channel_id` is one of the app's service channels.
Every regId dead: "No valid targets!"; some dead: accepted (MiPush reports those only
through callbacks). Past the daily marketing cap a one-regId send answers 10034 and a
larger one drops the over-cap regIds silently (the multi-send APIs report no code).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from pushwise.simulators.apns.peer import Reply, RequestHeaders
from pushwise.simulators.china.service import SimulatedVendor, json_reply

SEND_PATH = "/v3/message/regid"
REQUIRED = ("restricted_package_name", "title", "description", "pass_through", "notify_type")
MAX_TOKENS = 1000


class SimulatedXiaomi(SimulatedVendor):
    vendor = "xiaomi"

    def answer(self, method: str, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        if method != "POST" or path != SEND_PATH:
            return json_reply(
                404, {"result": "error", "code": 10001, "description": f"no route {method} {path}"}
            )
        delay = self.begin_send()
        form = {key: values[0] for key, values in parse_qs(body.decode(errors="replace")).items()}
        tokens = [t for t in form.get("registration_id", "").split(",") if t]
        status, code, reason = self._check(headers, form, tokens)
        if code:
            self.record(tokens, headers, body, status, str(code))
            return json_reply(
                status, {"result": "error", "code": code, "description": reason, "reason": reason}, delay
            )
        marketing = form.get("extra.channel_id") not in self.account.service_channels
        live = [t for t in tokens if not self.faults.is_dead(t)]
        if not live:
            self.record(tokens, headers, body, 410, "No valid targets!")
            return json_reply(
                200,
                {
                    "result": "error",
                    "code": 20301,
                    "description": "No valid targets!",
                    "reason": "No valid targets!",
                },
                delay,
            )
        over = [t for t in live if self.over_quota(t, marketing)]
        if over and len(tokens) == 1:
            self.record(tokens, headers, body, 429, "10034")
            return json_reply(
                200,
                {
                    "result": "error",
                    "code": 10034,
                    "description": "too many messages today",
                    "reason": "exceed quota",
                },
                delay,
            )
        self.dropped_by_quota += len(over)
        for token in tokens:
            status = 410 if token not in live else 429 if token in over else 200
            self.record([token], headers, body, status, "" if status == 200 else str(status))
        data = {"id": f"sdm{self.rng.getrandbits(48):012x}"}
        return json_reply(
            200,
            {
                "result": "ok",
                "code": 0,
                "trace_id": data["id"],
                "data": data,
                "description": "成功",
                "info": "",
            },
            delay,
        )

    def _check(
        self, headers: RequestHeaders, form: dict[str, str], tokens: list[str]
    ) -> tuple[int, int, str]:
        if self.faults.outage:
            return 503, 10001, "service unavailable"
        if headers.get("authorization") != f"key={self.account.credentials['app_secret']}":
            return 200, 21301, "authentication failed"
        fault = self.faults.injected(self.rng)
        if fault == "flow_control":
            return 200, 10027, "API called too frequently"
        if fault == "unavailable":
            return 200, 10002, "internal error"
        if fault == "quota_spent":
            return 200, 200001, "exceed quota"
        missing = [name for name in REQUIRED if name not in form]
        if missing:
            return 200, 10017, f"missing {missing[0]}"
        if form["restricted_package_name"] != self.account.credentials["package_name"]:
            return 200, 22022, "restricted_package_name does not match the app"
        if not tokens or len(tokens) > MAX_TOKENS:
            return 200, 10017, "registration_id must list 1 to 1000 regIds"
        if len(form["title"]) >= 50 or len(form["description"]) >= 128:
            return 200, 10016, "title or description too long"
        return 200, 0, ""
