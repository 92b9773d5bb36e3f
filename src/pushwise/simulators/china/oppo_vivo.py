"""Simulated OPPO Push and vivo Push: signed auth requests, then sends with the cached token.

OPPO: `/server/v1/auth` checks `sign = sha256(app_key + timestamp + master_secret)` and a
timestamp within 10 minutes; sends check `auth_token` (11 when unknown or expired), the
target, a title and content (snake_case or the doc's camelCase), and answer dead regIds
10000 and quota 33 (per item in `unicast_batch`). A push is service class when its
`channel_id` is one of the app's service channels and it carries `category` and
`notify_level`.

vivo: `/message/auth` checks `sign = md5(appId + appKey + timestamp + appSecret)`; sends
check the `authToken` header (no confirmed code: HTTP 401), the required `notifyType`,
`skipType` and `requestId` (at most 64), and `classification` 1 with a `category` (10096
without, as for a category vivo does not know). Dead regIds answer `invalidUser`
(`invalidUsers` for lists); past the marketing cap vivo drops silently.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs

import orjson

from pushwise.simulators.apns.peer import Reply, RequestHeaders
from pushwise.simulators.china.service import SimulatedVendor, json_reply

MAX_TOKENS = 1000


def _json(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _pick(notification: dict[str, Any], snake: str, camel: str) -> Any:
    return notification.get(snake, notification.get(camel))


class SimulatedOppo(SimulatedVendor):
    vendor = "oppo"

    def answer(self, method: str, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        form = {key: values[0] for key, values in parse_qs(body.decode(errors="replace")).items()}
        if method == "POST" and path == "/server/v1/auth":
            return self._auth(form)
        if method != "POST" or path not in (
            "/server/v1/message/notification/unicast",
            "/server/v1/message/notification/unicast_batch",
        ):
            return json_reply(404, {"code": -1, "message": f"no route {method} {path}"})
        delay = self.begin_send()
        raw = _json(form.get("messages") or form.get("message") or "")
        items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
        tokens = [
            str(item.get("target_value") or item.get("targetValue"))
            for item in items
            if isinstance(item, dict)
        ]
        code, message = self._check(form, items)
        if code:
            self.record(tokens, headers, body, 429 if code == 33 else 400, str(code))
            return json_reply(200, {"code": code, "message": message}, delay)
        results = [self._item(item, headers, body) for item in items]
        if path.endswith("unicast"):
            single = results[0]
            if single["errorCode"]:
                return json_reply(
                    200, {"code": single["errorCode"], "message": single["errorMessage"]}, delay
                )
            return json_reply(
                200, {"code": 0, "message": "Success", "data": {"messageId": single["messageId"]}}, delay
            )
        return json_reply(200, {"code": 0, "message": "Success", "data": results}, delay)

    def _auth(self, form: dict[str, str]) -> Reply:
        credentials = self.account.credentials
        timestamp = form.get("timestamp", "")
        expected = hashlib.sha256(
            (credentials["app_key"] + timestamp + credentials["master_secret"]).encode()
        ).hexdigest()
        if (
            form.get("app_key") != credentials["app_key"]
            or form.get("sign") != expected
            or not self.timestamp_fresh(timestamp)
        ):
            self.refused_auth += 1
            return json_reply(200, {"code": 14, "message": "invalid sign or timestamp"})
        return json_reply(
            200,
            {
                "code": 0,
                "message": "Success",
                "data": {"auth_token": self.issue_token(), "create_time": timestamp},
            },
        )

    def _check(self, form: dict[str, str], items: list[Any]) -> tuple[int, str]:
        if self.faults.outage:
            return -1, "service unavailable"
        if not form.get("auth_token"):
            return 29, "auth_token missing"
        if not self.token_valid(form["auth_token"]):
            return 11, "invalid auth_token"
        fault = self.faults.injected(self.rng)
        faults = {
            "token_expired": (11, "invalid auth_token"),
            "flow_control": (-2, "flow control"),
            "unavailable": (-1, "service unavailable"),
            "quota_spent": (33, "daily message limit"),
        }
        if fault is not None:
            return faults[fault]
        if not items or len(items) > MAX_TOKENS or not all(isinstance(item, dict) for item in items):
            return 40, "message(s) missing or more than 1000"
        for item in items:
            notification = item.get("notification")
            if item.get("target_type", item.get("targetType")) != 2 or not isinstance(notification, dict):
                return 40, "target_type 2 and a notification are required"
            if not notification.get("title") or not notification.get("content"):
                return 40, "notification needs title and content"
            level = _pick(notification, "notify_level", "notifyLevel")
            if level is not None and level not in (1, 2, 16):
                return 67, "notify_level invalid"
        return 0, ""

    def _item(self, item: dict[str, Any], headers: RequestHeaders, body: bytes) -> dict[str, Any]:
        token = str(item.get("target_value") or item.get("targetValue"))
        notification = item["notification"]
        service = (
            _pick(notification, "channel_id", "channelId") in self.account.service_channels
            and notification.get("category") is not None
            and _pick(notification, "notify_level", "notifyLevel") is not None
        )
        result: dict[str, Any] = {
            "registrationId": token,
            "messageId": None,
            "errorCode": 0,
            "errorMessage": "",
        }
        if self.faults.is_dead(token):
            result.update(errorCode=10000, errorMessage="invalid registration_id")
            self.record([token], headers, body, 410, "10000")
        elif self.over_quota(token, not service):
            result.update(errorCode=33, errorMessage="daily message limit")
            self.record([token], headers, body, 429, "33")
        else:
            result["messageId"] = f"{self.rng.getrandbits(48):012x}"
            self.record([token], headers, body, 200, "")
        return result


class SimulatedVivo(SimulatedVendor):
    vendor = "vivo"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tasks: dict[str, bytes] = {}

    def answer(self, method: str, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        request = _json(body)
        request = request if isinstance(request, dict) else {}
        if method == "POST" and path == "/message/auth":
            return self._auth(request)
        if method != "POST" or path not in (
            "/message/send",
            "/message/saveListPayload",
            "/message/pushToList",
        ):
            return json_reply(404, {"result": 10404, "desc": f"no route {method} {path}"})
        delay = self.begin_send()
        status, result, desc = self._check(headers, path, request)
        tokens = [str(t) for t in request.get("regIds") or [request.get("regId")] if t]
        if result:
            self.record(tokens, headers, body, status if status != 200 else 400, str(result))
            return json_reply(status, {"result": result, "desc": desc}, delay)
        if path == "/message/saveListPayload":
            task = f"{self.rng.getrandbits(48):012x}"
            self._tasks[task] = body
            return json_reply(200, {"result": 0, "desc": "success", "taskId": task}, delay)
        message = request if path == "/message/send" else _json(self._tasks[str(request["taskId"])])
        invalid = self._deliver(message, tokens, headers, body)
        if path == "/message/send":
            answer: dict[str, Any] = {
                "result": 0,
                "desc": "success",
                "taskId": f"{self.rng.getrandbits(48):012x}",
            }
            if invalid:
                answer["invalidUser"] = {"status": 1, "userid": tokens[0]}
            return json_reply(200, answer, delay)
        users = [{"regId": token, "status": 1} for token in invalid]
        return json_reply(
            200, {"result": 0, "desc": "success", "taskId": request["taskId"], "invalidUsers": users}, delay
        )

    def _auth(self, request: dict[str, Any]) -> Reply:
        credentials = self.account.credentials
        timestamp = str(request.get("timestamp", ""))
        raw = credentials["app_id"] + credentials["app_key"] + timestamp + credentials["app_secret"]
        expected = hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()
        if (
            str(request.get("appId")) != credentials["app_id"]
            or request.get("sign") != expected
            or not self.timestamp_fresh(timestamp)
        ):
            self.refused_auth += 1
            return json_reply(200, {"result": 10200, "desc": "invalid sign or timestamp"})
        return json_reply(200, {"result": 0, "desc": "success", "authToken": self.issue_token()})

    def _check(self, headers: RequestHeaders, path: str, request: dict[str, Any]) -> tuple[int, int, str]:
        if self.faults.outage:
            return 503, 503, "service unavailable"
        if not self.token_valid(headers.get("authtoken")):
            return 401, 401, "authToken invalid or expired"
        fault = self.faults.injected(self.rng)
        if fault == "token_expired":
            return 401, 401, "authToken invalid or expired"
        if fault in ("flow_control", "unavailable"):
            return 503, 503, fault
        if path == "/message/pushToList":
            regs = request.get("regIds")
            if (
                not isinstance(regs, list)
                or not 2 <= len(regs) <= MAX_TOKENS
                or str(request.get("taskId")) not in self._tasks
            ):
                return 200, 10101, "regIds (2-1000) and a saved taskId are required"
            return 200, 0, ""
        required = ["title", "content", "notifyType", "skipType", "requestId"] + (
            ["regId"] if path == "/message/send" else []
        )
        missing = [name for name in required if request.get(name) in (None, "")]
        if missing:
            return 200, 10101, f"missing {missing[0]}"
        if (
            len(str(request["requestId"])) > 64
            or len(str(request["title"])) > 40
            or len(str(request["content"])) > 100
        ):
            return 200, 10101, "requestId, title or content too long"
        if request.get("classification", 0) == 1 and not request.get("category"):
            return 200, 10096, "classification 1 needs a category"
        return 200, 0, ""

    def _deliver(self, message: Any, tokens: list[str], headers: RequestHeaders, body: bytes) -> list[str]:
        marketing = not (isinstance(message, dict) and message.get("classification") == 1)
        invalid = []
        for token in tokens:
            if self.faults.is_dead(token):
                invalid.append(token)
                self.record([token], headers, body, 410, "invalidUser.status=1")
            elif self.over_quota(token, marketing):
                self.dropped_by_quota += 1
                self.record([token], headers, body, 429, "dropped")
            else:
                self.record([token], headers, body, 200, "")
        return invalid
