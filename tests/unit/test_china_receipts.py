"""The vendors' receipt posts read into one shape; the receipt address's token."""

from __future__ import annotations

import orjson

from pushwise.domain.china.receipts import (
    ReceiptKind,
    VendorReceipt,
    parse_receipts,
    receipt_token,
    receipt_token_valid,
)

KEY = b"k" * 32


def test_huawei_and_honor_statuses() -> None:
    body = {
        "statuses": [
            {"token": "a", "status": 0, "biTag": "ntf_1"},
            {"token": "b", "status": 2},
            {"token": "c", "status": 6},
            {"token": "d", "status": 10},
            {"token": "e", "status": 99},  # not one we act on
            {"status": 0},  # no token
        ]
    }
    for vendor in ("huawei", "honor"):
        assert parse_receipts(vendor, body) == [
            VendorReceipt("a", ReceiptKind.DELIVERED, "ntf_1", "status=0"),
            VendorReceipt("b", ReceiptKind.TOKEN_DEAD, None, "status=2"),
            VendorReceipt("c", ReceiptKind.PERMISSION_OFF, None, "status=6"),
            VendorReceipt("d", ReceiptKind.TOKEN_DEAD, None, "status=10"),
        ]


def test_xiaomi_callback_in_a_form_field() -> None:
    data = {
        "m1": {"param": "ntf_2", "type": 1, "targets": "r1,r2"},
        "m2": {"param": "ntf_2", "type": "16", "targets": "r3"},
        "m3": {"param": "ntf_2", "type": 1, "targets": "r4", "barStatus": "Disable"},
    }
    receipts = parse_receipts("xiaomi", {"data": orjson.dumps(data).decode()})
    assert [(r.token, r.kind) for r in receipts] == [
        ("r1", ReceiptKind.DELIVERED),
        ("r2", ReceiptKind.DELIVERED),
        ("r3", ReceiptKind.TOKEN_DEAD),
        ("r4", ReceiptKind.PERMISSION_OFF),
    ]
    assert {r.notification_id for r in receipts} == {"ntf_2"}


def test_oppo_and_vivo() -> None:
    oppo = [
        {"param": "n", "eventType": "push_arrive", "registrationIds": "o1,o2"},
        {"param": "n", "eventType": "regid_invalid", "registrationIds": "o3"},
        {"param": "n", "eventType": "something_else", "registrationIds": "o4"},
    ]
    assert [(r.token, r.kind) for r in parse_receipts("oppo", oppo)] == [
        ("o1", ReceiptKind.DELIVERED),
        ("o2", ReceiptKind.DELIVERED),
        ("o3", ReceiptKind.TOKEN_DEAD),
    ]
    vivo = {"t1": {"param": "n", "targets": "v1,v2"}}
    assert [r.token for r in parse_receipts("vivo", vivo)] == ["v1", "v2"]


def test_unreadable_posts_yield_nothing() -> None:
    for vendor in ("huawei", "xiaomi", "oppo", "vivo", "meizu"):
        assert parse_receipts(vendor, "not json") == []
        assert parse_receipts(vendor, None) == []


def test_the_address_token_binds_vendor_and_app() -> None:
    token = receipt_token(KEY, "huawei", "app_1")
    assert receipt_token_valid(KEY, "huawei", "app_1", token)
    assert not receipt_token_valid(KEY, "huawei", "app_2", token)
    assert not receipt_token_valid(KEY, "xiaomi", "app_1", token)
    assert not receipt_token_valid(b"x" * 32, "huawei", "app_1", token)
