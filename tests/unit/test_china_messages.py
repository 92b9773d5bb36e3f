"""The vendors' request bodies per message class, and the limits checked before sending."""

from __future__ import annotations

import pytest

from pushwise.domain.china.messages import (
    PayloadTooLarge,
    VendorOptions,
    notify_id,
    render_honor,
    render_huawei,
    render_oppo,
    render_vivo,
    render_xiaomi,
)
from pushwise.domain.china.vendors import (
    MARKETING,
    CategoryClass,
    MessageClass,
    VendorClass,
    class_for,
    message_class,
)
from pushwise.domain.notification import Content, Fallback, NotificationSpec

NOW = 1_800_000_000.0
SPEC = NotificationSpec(
    Content(title="Order shipped", body="On its way", data={"order": 42}), collapse_key="o42"
)
SERVICE = VendorClass.SERVICE


def test_huawei_service_and_marketing_shapes() -> None:
    service = render_huawei(
        SPEC, MessageClass(SERVICE, {"category": "EXPRESS"}), now=NOW, expires_at=NOW + 600
    )
    assert service == {
        "android": {
            "category": "EXPRESS",
            "ttl": "600s",
            "notification": {
                "title": "Order shipped",
                "body": "On its way",
                "click_action": {"type": 3},
                "importance": "NORMAL",
                "notify_id": notify_id("o42"),
            },
        },
        "data": '{"order":42}',
    }
    marketing = render_huawei(SPEC, MARKETING, now=NOW, expires_at=None)
    assert marketing["android"]["category"] == "MARKETING"
    assert marketing["android"]["notification"]["importance"] == "LOW"
    assert marketing["android"]["ttl"] == "86400s"


def test_honor_is_camel_case_and_importance_carries_the_class() -> None:
    service = render_honor(SPEC, MessageClass(SERVICE, {"importance": "NORMAL"}), now=NOW, expires_at=None)
    notification = service["android"]["notification"]
    assert notification["clickAction"] == {"type": 3}
    assert notification["importance"] == "NORMAL"
    assert notification["notifyId"] == notify_id("o42")
    assert "message" not in service
    assert (
        render_honor(SPEC, MARKETING, now=NOW, expires_at=None)["android"]["notification"]["importance"]
        == "LOW"
    )


def test_xiaomi_form_per_class() -> None:
    options = VendorOptions("com.example.shop", marketing_channel_id="promo")
    service = render_xiaomi(
        SPEC, MessageClass(SERVICE, {"channel_id": "orders"}), options, now=NOW, expires_at=NOW + 60
    )
    assert service == {
        "restricted_package_name": "com.example.shop",
        "title": "Order shipped",
        "description": "On its way",
        "pass_through": "0",
        "notify_type": "-1",
        "extra.notify_effect": "1",
        "time_to_live": "60000",
        "notify_id": str(notify_id("o42")),
        "extra.channel_id": "orders",
        "payload": '{"order":42}',
    }
    assert render_xiaomi(SPEC, MARKETING, options, now=NOW, expires_at=None)["extra.channel_id"] == "promo"
    assert "extra.channel_id" not in render_xiaomi(
        SPEC, MARKETING, VendorOptions("p"), now=NOW, expires_at=None
    )


def test_xiaomi_marketing_ttl_is_at_most_a_day() -> None:
    form = render_xiaomi(SPEC, MARKETING, VendorOptions("p"), now=NOW, expires_at=NOW + 5 * 86400)
    assert form["time_to_live"] == str(86_400_000)


def test_oppo_notification_per_class() -> None:
    fields = {"channel_id": "orders", "category": "ORDER", "notify_level": 2}
    service = render_oppo(SPEC, MessageClass(SERVICE, fields), VendorOptions(), now=NOW, expires_at=NOW + 60)
    assert service == {
        "title": "Order shipped",
        "content": "On its way",
        "click_action_type": 0,
        "notify_id": notify_id("o42"),
        "off_line": True,
        "off_line_ttl": 60,
        "channel_id": "orders",
        "category": "ORDER",
        "notify_level": 2,
        "action_parameters": '{"order":42}',
    }
    marketing = render_oppo(
        SPEC, MARKETING, VendorOptions(marketing_channel_id="promo"), now=NOW, expires_at=None
    )
    assert marketing["channel_id"] == "promo"
    assert "category" not in marketing
    assert "notify_level" not in marketing


def test_vivo_classification_per_class() -> None:
    service = render_vivo(SPEC, MessageClass(SERVICE, {"category": "ORDER"}), now=NOW, expires_at=NOW + 30)
    assert service == {
        "title": "Order shipped",
        "content": "On its way",
        "notifyType": 4,
        "skipType": 1,
        "timeToLive": 60,  # vivo's floor
        "classification": 1,
        "category": "ORDER",
        "notifyId": notify_id("o42"),
        "pushMode": 0,
        "clientCustomMap": {"order": "42"},
    }
    marketing = render_vivo(SPEC, MARKETING, now=NOW, expires_at=None)
    assert marketing["classification"] == 0
    assert "category" not in marketing


def test_long_text_asks_for_the_senders_fallback_content_first() -> None:
    long = NotificationSpec(
        Content(title="T" * 60, body="B" * 300),
        fallback=Fallback(content=Content(title="Short", body="Brief")),
    )
    with pytest.raises(PayloadTooLarge):
        render_vivo(long, MARKETING, now=NOW, expires_at=None)


def test_long_text_without_fallback_is_cut_to_the_vendor_limits() -> None:
    long = NotificationSpec(Content(title="T" * 60, body="B" * 300))
    vivo = render_vivo(long, MARKETING, now=NOW, expires_at=None)
    assert (len(vivo["title"]), len(vivo["content"])) == (40, 100)
    assert vivo["content"].endswith("\u2026")
    xiaomi = render_xiaomi(long, MARKETING, VendorOptions("p"), now=NOW, expires_at=None)
    assert (len(xiaomi["title"]), len(xiaomi["description"])) == (49, 127)
    oppo = render_oppo(long, MARKETING, VendorOptions(), now=NOW, expires_at=None)
    assert (len(oppo["title"]), len(oppo["content"])) == (50, 128)


@pytest.mark.parametrize("render", [render_huawei, render_honor, render_vivo])
def test_payload_over_4096_bytes_is_too_large(render) -> None:  # type: ignore[no-untyped-def]
    big = NotificationSpec(Content(title="t", body="b", data={"blob": "x" * 5000}))
    with pytest.raises(PayloadTooLarge):
        render(big, MARKETING, now=NOW, expires_at=None)


def test_a_service_class_needs_every_field_of_its_vendor() -> None:
    assert message_class("oppo", SERVICE, {"channel_id": "c", "category": "X"}) is MARKETING
    full = message_class("oppo", SERVICE, {"channel_id": "c", "category": "X", "notify_level": 2})
    assert full.vendor_class is SERVICE


def test_class_for_a_notification() -> None:
    categories = {"orders": CategoryClass(SERVICE, {"huawei": {"category": "EXPRESS"}})}
    assert class_for("huawei", "orders", "normal", categories).fields == {"category": "EXPRESS"}
    assert class_for("vivo", "orders", "normal", categories) is MARKETING  # no vivo entry: marketing
    # Transactional without a configured category has no service fields yet: marketing.
    assert class_for("huawei", None, "transactional", {}) is MARKETING
