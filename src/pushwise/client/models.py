"""The request and answer models of API v1: the server's own classes, importable from the client.

Nested parts of a body can be given as plain dicts or as these models:
`client.send_notification(to=TargetIn(user_ids=["u1"]), content=ContentIn(title="Hi"))`.
"""

from pushwise.api.schemas.apps import AppCreatedOut, AppIn, AppOut, AppPage, KeyCreatedOut, KeyIn, KeyOut
from pushwise.api.schemas.channel_providers import (
    EmailProviderIn,
    EmailProviderOut,
    WebhookProviderIn,
    WebhookProviderOut,
)
from pushwise.api.schemas.devices import (
    DeviceBatchIn,
    DeviceBatchItem,
    DeviceBatchOut,
    DeviceIn,
    DeviceOut,
    DevicePermissionIn,
    SubscriptionIn,
    SubscriptionKeysIn,
)
from pushwise.api.schemas.failure_notice import FailureNoticeIn, FailureNoticeOut, NoticeTextIn, NoticeWordsIn
from pushwise.api.schemas.inbox import InboxItemOut, InboxPageOut, UserTokenIn, UserTokenOut
from pushwise.api.schemas.notifications import (
    AcceptedOut,
    CancelOut,
    ContentIn,
    DeliveryOut,
    DeliveryPage,
    FallbackIn,
    LastError,
    LocalTime,
    NotificationIn,
    NotificationOut,
    SegmentTargetIn,
    TargetIn,
    TrailStep,
)
from pushwise.api.schemas.notifications import ApnsIn as ApnsOptionsIn
from pushwise.api.schemas.providers import ApnsIn as ApnsProviderIn
from pushwise.api.schemas.providers import ApnsOut, FcmIn, FcmOut, WebPushIn, WebPushOut
from pushwise.api.schemas.receipts import ReceiptsIn, ReceiptsOut
from pushwise.api.schemas.segments import (
    SegmentIn,
    SegmentOut,
    SegmentPage,
    SegmentPreviewIn,
    SegmentPreviewOut,
)
from pushwise.api.schemas.users import LocationIn, LocationOut, UserIn, UserOut, UserProfileOut

__all__ = [
    "AcceptedOut",
    "ApnsOptionsIn",
    "ApnsOut",
    "ApnsProviderIn",
    "AppCreatedOut",
    "AppIn",
    "AppOut",
    "AppPage",
    "CancelOut",
    "ContentIn",
    "DeliveryOut",
    "DeliveryPage",
    "DeviceBatchIn",
    "DeviceBatchItem",
    "DeviceBatchOut",
    "DeviceIn",
    "DeviceOut",
    "DevicePermissionIn",
    "EmailProviderIn",
    "EmailProviderOut",
    "FailureNoticeIn",
    "FailureNoticeOut",
    "FallbackIn",
    "FcmIn",
    "FcmOut",
    "InboxItemOut",
    "InboxPageOut",
    "KeyCreatedOut",
    "KeyIn",
    "KeyOut",
    "LastError",
    "LocalTime",
    "LocationIn",
    "LocationOut",
    "NoticeTextIn",
    "NoticeWordsIn",
    "NotificationIn",
    "NotificationOut",
    "ReceiptsIn",
    "ReceiptsOut",
    "SegmentIn",
    "SegmentOut",
    "SegmentPage",
    "SegmentPreviewIn",
    "SegmentPreviewOut",
    "SegmentTargetIn",
    "SubscriptionIn",
    "SubscriptionKeysIn",
    "TargetIn",
    "TrailStep",
    "UserIn",
    "UserOut",
    "UserProfileOut",
    "UserTokenIn",
    "UserTokenOut",
    "WebPushIn",
    "WebPushOut",
    "WebhookProviderIn",
    "WebhookProviderOut",
]
