"""A spec's plain form is what `dataclasses.asdict` would give, and reads back to the same spec."""

from __future__ import annotations

from dataclasses import asdict

from pushwise.domain.notification import NotificationSpec


def test_the_plain_form_equals_asdict_and_round_trips() -> None:
    spec = NotificationSpec.from_dict(
        {
            "content": {"title": "t", "body": "b", "data": {"order": {"id": 7, "items": [1, 2]}}, "badge": 3},
            "apns": {"push_type": "alert", "headers": {"apns-collapse-id": "c"}, "payload": {"x": 1}},
            "fcm": {"android": {"priority": "high"}},
            "webpush": {"urgency": "high"},
            "category": "orders",
            "priority": "transactional",
            "ttl_seconds": 60,
            "collapse_key": "k",
            "fallback": {"content": {"title": "short"}, "channels": ["inbox", "email"]},
            "send_local_time": "09:30",
        }
    )
    plain = spec.to_dict()
    assert plain == asdict(spec)
    assert NotificationSpec.from_dict(plain) == spec
