"""Hypothesis fuzzing of the provider simulators' request parsers.

The simulators are test peers that benchmarks and chaos runs lean on: whatever a sender puts on
the wire (a buggy build of pushwise, a fuzzer, a stray client), each must answer as the real
service would, with a rejection it knows, and never fail itself. Inputs mix structure (headers,
JSON that is almost a message, JWT-shaped strings) with arbitrary bytes and text.

(The segment rule compiler is not fuzzed here yet: it does not exist at the time of writing; its
parser should get the same treatment when it lands.)
"""

from __future__ import annotations

import string
from email.message import EmailMessage
from typing import Any

import orjson
from aiosmtpd.smtp import Envelope
from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.simulators.apns.auth import ProviderTokenVerifier, new_signing_key
from pushwise.simulators.apns.reasons import REASON_STATUS
from pushwise.simulators.apns.validation import TopicRule, device_token, request_problem
from pushwise.simulators.fcm.oauth import TokenIssuer, new_service_account
from pushwise.simulators.fcm.validation import check_send_body
from pushwise.simulators.smtp.sink import parsed_message
from pushwise.simulators.webpush.faults import parse_faults
from pushwise.simulators.webpush.service import SimulatedPushService

NOW = 1_800_000_000.0
APNS_HEADERS = (
    "apns-topic",
    "apns-push-type",
    "apns-priority",
    "apns-expiration",
    "apns-collapse-id",
    "apns-id",
)
header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        ["alert", "background", "voip", "10", "5", "-1", "0", "com.example.shop", "com.example.shop.voip"]
    ),
    st.uuids().map(str),
)
jsonish: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def bodies(*fields: str) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, arbitrary JSON, and JSON objects built from the fields a parser looks for."""
    shaped = st.dictionaries(st.sampled_from(fields), jsonish, max_size=len(fields)) if fields else jsonish
    return st.one_of(st.binary(max_size=300), jsonish.map(orjson.dumps), shaped.map(orjson.dumps))


@settings(max_examples=400, deadline=None)
@given(
    headers=st.dictionaries(st.sampled_from(APNS_HEADERS), header_values, max_size=6),
    token=st.one_of(st.text(max_size=70), st.text(alphabet="0123456789abcdef", max_size=70)),
    body=bodies("aps", "data"),
)
def test_apns_validation_answers_every_request_with_a_known_reason_or_none(
    headers: dict[str, str], token: str, body: bytes
) -> None:
    rule = TopicRule("com.example.shop", topic_required=True)
    reason = request_problem(headers.get, token, body, rule)
    assert reason is None or reason in REASON_STATUS


@given(path=st.text(max_size=120))
def test_apns_device_paths_parse_or_are_refused(path: str) -> None:
    token = device_token(path)
    assert token is None or "/" not in token


@settings(max_examples=300, deadline=None)
@given(
    authorization=st.one_of(
        st.none(),
        st.text(max_size=200),
        st.lists(
            st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=60), min_size=3, max_size=3
        )
        .map(".".join)
        .map(lambda jwt_like: "bearer " + jwt_like),
    )
)
def test_apns_provider_token_checks_never_fail_on_a_malformed_authorization(
    authorization: str | None,
) -> None:
    key = new_signing_key_once()
    verifier = ProviderTokenVerifier(key.team_id, {key.key_id: key.public_key_pem()})
    reason = verifier.problem(authorization, NOW)
    assert reason in REASON_STATUS  # nothing a fuzzer writes is a valid token


@settings(max_examples=400, deadline=None)
@given(body=bodies("message", "validate_only"))
def test_fcm_send_bodies_are_checked_without_failing(body: bytes) -> None:
    checked = check_send_body(body)
    assert isinstance(checked.token, str)
    if checked.rejection is not None:
        assert checked.rejection.message


@settings(max_examples=300, deadline=None)
@given(
    form=st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.sampled_from(["grant_type", "assertion", "scope"]), st.text(max_size=120), max_size=3
        ).map(lambda fields: "&".join(f"{k}={v}" for k, v in fields.items()).encode()),
    ),
    authorization=st.one_of(st.none(), st.text(max_size=100)),
)
def test_fcm_token_endpoint_refuses_malformed_grants_without_failing(
    form: bytes, authorization: str | None
) -> None:
    issuer = token_issuer_once()
    grant = issuer.grant(form, NOW, lifetime_s=3600, check_time=True)
    assert 400 <= grant.status < 500
    assert issuer.is_valid(authorization, NOW) is False


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
    path=st.one_of(st.text(max_size=60), st.just("/push/"), st.text(max_size=30).map(lambda s: "/push/" + s)),
    headers=st.dictionaries(
        st.sampled_from(["authorization", "ttl", "content-encoding", "topic", "urgency", "crypto-key"]),
        st.one_of(st.text(max_size=80), st.sampled_from(["vapid t=a.b.c, k=abc", "aes128gcm", "60", "high"])),
        max_size=6,
    ),
    body=st.binary(max_size=400),
)
def test_web_push_service_answers_any_request_with_a_status_it_documents(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    service = SimulatedPushService("http://127.0.0.1:9", faults=parse_faults({}), seed=1, clock=lambda: NOW)
    subscription = service.subscriptions.create()
    own = subscription["endpoint"].removeprefix("http://127.0.0.1:9")
    for target in (path, own):
        reply = service.answer(method, target, headers, body)
        assert reply.status in (201, 400, 401, 403, 404, 405, 410, 413, 429, 503)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(
        st.binary(max_size=400),
        st.builds(
            lambda subject, charset, text: (
                f"Subject: {subject}\r\nContent-Type: text/plain; charset={charset}\r\n\r\n".encode(
                    errors="replace"
                )
                + text
            ),
            st.text(max_size=40),
            st.sampled_from(["utf-8", "latin-1", "x-unknown", "", "utf-7"]),
            st.binary(max_size=100),
        ),
    )
)
def test_smtp_sink_reads_any_message_it_is_handed(raw: bytes) -> None:
    envelope = Envelope()
    envelope.mail_from = "shop@example.com"
    envelope.rcpt_tos = ["ana@example.com"]
    envelope.original_content = raw
    message = parsed_message(envelope)
    assert message["rcpt_tos"] == ["ana@example.com"]
    assert isinstance(message["subject"], str)


def test_a_well_formed_message_is_read_whole() -> None:
    email = EmailMessage()
    email["Subject"] = "Shipped"
    email.set_content("Your order is on its way")
    envelope = Envelope()
    envelope.rcpt_tos = ["ana@example.com"]
    envelope.original_content = email.as_bytes()
    assert parsed_message(envelope)["text"].strip() == "Your order is on its way"


_KEYS: dict[str, Any] = {}


def new_signing_key_once() -> Any:
    if "apns" not in _KEYS:
        _KEYS["apns"] = new_signing_key()
    return _KEYS["apns"]


def token_issuer_once() -> TokenIssuer:
    if "fcm" not in _KEYS:
        account = new_service_account("shop", "http://127.0.0.1:9/token")
        _KEYS["fcm"] = TokenIssuer(
            client_email=account.key_file["client_email"],
            public_keys={account.key_file["private_key_id"]: account.public_key_pem},
            audience="http://127.0.0.1:9/token",
        )
    issuer: TokenIssuer = _KEYS["fcm"]
    return issuer
