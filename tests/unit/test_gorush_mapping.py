"""Gorush notifications as `POST /v1/notifications` bodies: every documented field lands where the
table in docs/gorush.md says, and what pushwise cannot do is refused with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from pushwise.api.gorush import ONCE_SECONDS, ApnsSettings, Unmappable, notification_body
from pushwise.api.schemas.gorush import GorushNotification
from pushwise.api.schemas.notifications import MAX_TTL_SECONDS, NotificationIn

NOW = 1_800_000_000.0
APNS = ApnsSettings(topic="com.example.shop", environment="production")


def body_of(platform: str, **fields: Any) -> dict[str, Any]:
    number = {"ios": 1, "android": 2, "huawei": 3}[platform]
    gorush = GorushNotification.model_validate({"platform": number, **fields})
    body = notification_body(gorush, platform, now=NOW, apns=APNS if platform == "ios" else None)
    NotificationIn.model_validate({**body, "to": {"device_ids": ["dev_1"]}})  # the API accepts it
    return body


def test_title_message_badge_image_and_data_are_the_content() -> None:
    body = body_of(
        "ios", title="Hi", message="Boots!", badge=3, image="https://img.example/a.png", data={"k": 1}
    )
    assert body["content"] == {
        "title": "Hi",
        "body": "Boots!",
        "badge": 3,
        "image": "https://img.example/a.png",
        "data": {"k": 1},
    }


def test_ios_alert_text_wins_and_its_other_keys_go_to_aps_alert() -> None:
    body = body_of(
        "ios", message="plain", alert={"title": "T", "body": "B", "loc-key": "GAME", "loc-args": ["Bob"]}
    )
    assert (body["content"]["title"], body["content"]["body"]) == ("T", "B")
    assert body["apns"]["payload"]["aps"]["alert"] == {
        "title": "T",
        "body": "B",
        "loc-key": "GAME",
        "loc-args": ["Bob"],
    }


def test_ios_sound_forms() -> None:
    assert body_of("ios", message="x", sound="bell.caf")["content"]["sound"] == "bell.caf"
    critical = {"critical": 1, "name": "default", "volume": 1.0}
    assert body_of("ios", message="x", sound=critical)["apns"]["payload"]["aps"]["sound"] == critical
    beside = body_of("ios", message="x", name="chime", volume=0.5)
    assert beside["apns"]["payload"]["aps"]["sound"] == {"name": "chime", "volume": 0.5}


def test_ios_flags_priority_collapse_and_push_type() -> None:
    body = body_of(
        "ios",
        message="x",
        mutable_content=True,
        content_available=True,
        priority="normal",
        collapse_id="order-1",
        push_type="alert",
        category="GAME",
        **{"thread-id": "t1"},
    )
    assert body["apns"]["payload"]["aps"] == {
        "mutable-content": 1,
        "content-available": 1,
        "category": "GAME",
        "thread-id": "t1",
    }
    assert (body["apns"]["priority"], body["apns"]["push_type"]) == (5, "alert")
    assert body["collapse_key"] == "order-1"


def test_content_available_without_text_is_a_background_push() -> None:
    body = body_of("ios", content_available=True, data={"sync": True})
    assert body["apns"]["push_type"] == "background"


def test_live_activity_fields_go_to_aps_under_their_apns_names() -> None:
    body = body_of(
        "ios",
        push_type="liveactivity",
        event="update",
        timestamp=1685952000,
        alert={"title": "Goal", "body": "1-0"},
        **{"content-state": {"home": 1}, "stale-date": 1685955600, "relevance-score": 0.5},
    )
    aps = body["apns"]["payload"]["aps"]
    assert (aps["event"], aps["timestamp"], aps["content-state"]) == ("update", 1685952000, {"home": 1})
    assert (aps["stale-date"], aps["relevance-score"]) == (1685955600, 0.5)


def test_apns_block_merges_with_the_mapped_aps() -> None:
    body = body_of(
        "ios",
        message="x",
        badge=1,
        mutable_content=True,
        apns={
            "payload": {"aps": {"sound": {"name": "custom.wav"}}, "extra": 1},
            "headers": {"apns-priority": "5"},
        },
    )
    assert body["apns"]["payload"] == {
        "aps": {"mutable-content": 1, "sound": {"name": "custom.wav"}},
        "extra": 1,
    }
    assert body["apns"]["headers"] == {"apns-priority": "5"}


def test_expiration_is_a_ttl_from_now() -> None:
    assert body_of("ios", message="x", expiration=int(NOW) + 3600)["ttl_seconds"] == 3600
    assert (
        body_of("ios", message="x", expiration=int(NOW) + 10 * MAX_TTL_SECONDS)["ttl_seconds"]
        == MAX_TTL_SECONDS
    )
    assert body_of("ios", message="x", expiration=0)["ttl_seconds"] == ONCE_SECONDS
    with pytest.raises(Unmappable, match="past"):
        body_of("ios", message="x", expiration=int(NOW) - 1)


def test_another_apns_environment_or_topic_is_refused() -> None:
    with pytest.raises(Unmappable, match="production, not development"):
        body_of("ios", message="x", development=True)
    assert body_of("ios", message="x", production=True)["content"]["body"] == "x"
    with pytest.raises(Unmappable, match=r"com\.example\.shop"):
        body_of("ios", message="x", topic="com.other.app")
    assert "apns" not in body_of("ios", message="x", topic="com.example.shop.voip")


def test_android_fields_go_to_the_fcm_message() -> None:
    body = body_of(
        "android",
        title="Hi",
        message="x",
        priority="high",
        time_to_live=90,
        collapse_key="score",
        restricted_package_name="com.example.shop",
        notification={"icon": "myicon", "color": "#112244", "title": "ignored: title given"},
        fcm_options={"analytics_label": "example"},
    )
    assert body["fcm"] == {
        "android": {
            "notification": {"icon": "myicon", "color": "#112244"},
            "priority": "HIGH",
            "restricted_package_name": "com.example.shop",
        },
        "fcm_options": {"analytics_label": "example"},
    }
    assert (body["ttl_seconds"], body["collapse_key"]) == (90, "score")
    assert body["content"]["title"] == "Hi"


def test_fcm_notification_text_is_used_when_title_and_message_are_not_given() -> None:
    body = body_of("android", notification={"title": "T", "body": "B", "tag": "t"})
    assert (body["content"]["title"], body["content"]["body"]) == ("T", "B")
    assert body["fcm"]["android"]["notification"] == {"tag": "t"}


def test_time_to_live_is_clamped_to_what_providers_keep() -> None:
    assert body_of("android", message="x", time_to_live=10**9)["ttl_seconds"] == MAX_TTL_SECONDS


@pytest.mark.parametrize("target", [{"to": "/topics/news"}, {"condition": "'a' in topics"}])
def test_topic_and_condition_targets_are_refused(target: dict[str, str]) -> None:
    with pytest.raises(Unmappable, match="tokens given"):
        body_of("android", message="x", **target)


def test_huawei_data_joins_the_data_and_its_ttl_is_seconds() -> None:
    body = body_of("huawei", message="x", data={"a": 1}, huawei_data='{"room": "PT-DK"}', huawei_ttl="86400s")
    assert body["content"]["data"] == {"a": 1, "room": "PT-DK"}
    assert body["ttl_seconds"] == 86400
    assert body_of("huawei", message="x", time_to_live=60)["ttl_seconds"] == 60


@pytest.mark.parametrize("fields", [{"huawei_data": "{'title': 'Mario'}"}, {"huawei_ttl": "a day"}])
def test_huawei_fields_that_do_not_parse_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(Unmappable, match="huawei"):
        body_of("huawei", message="x", **fields)
