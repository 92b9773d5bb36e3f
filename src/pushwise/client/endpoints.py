"""Every API v1 call of the Python client, one line each, typed with the server's own models.

Adding an endpoint is one line here: `name = Call("METHOD", "/v1/path/{param}", AnswerModel,
body=BodyModel, query=("cursor",))`, with the models imported from `pushwise.api.schemas`; a
listing with `next_cursor` also gets `iter_<name> = Pages(<listing>, ItemModel)`. The drift test
(tests/unit/test_client_drift.py) checks each line against the live app's OpenAPI document and
lists the v1 endpoints that have no line yet.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from pushwise.api.schemas.apps import AppCreatedOut, AppIn, AppOut, AppPage, KeyCreatedOut, KeyIn, KeyOut
from pushwise.api.schemas.audit import AuditItemOut, AuditPage
from pushwise.api.schemas.campaigns import (
    AnalyticsOut,
    CampaignDeliveryPage,
    CampaignIn,
    CampaignOut,
)
from pushwise.api.schemas.catalog import ItemOut, ItemsIn, ItemsOut, PicksOut
from pushwise.api.schemas.channel_providers import (
    EmailProviderIn,
    EmailProviderOut,
    WebhookProviderIn,
    WebhookProviderOut,
)
from pushwise.api.schemas.devices import (
    DeviceBatchIn,
    DeviceBatchOut,
    DeviceIn,
    DeviceOut,
    DevicePermissionIn,
)
from pushwise.api.schemas.events import EventsIn, EventsOut
from pushwise.api.schemas.experiments import (
    AssignedOut,
    AssignmentsIn,
    ExperimentIn,
    ExperimentOut,
    ExperimentResultOut,
)
from pushwise.api.schemas.failure_notice import FailureNoticeIn, FailureNoticeOut, NoticeAnswersOut
from pushwise.api.schemas.feedback import FeedbackByOut
from pushwise.api.schemas.gate import ExplainIn, ExplainOut
from pushwise.api.schemas.inbox import InboxItemOut, InboxPageOut, UserTokenIn, UserTokenOut
from pushwise.api.schemas.notifications import (
    AcceptedOut,
    CancelOut,
    DeliveryOut,
    DeliveryPage,
    NotificationIn,
    NotificationOut,
)
from pushwise.api.schemas.policy import PolicyIn, PolicyOut
from pushwise.api.schemas.preferences import (
    MAX_CATEGORIES,
    CategoryIn,
    CategoryOut,
    PreferenceLinkIn,
    PreferenceLinkOut,
    PreferencesIn,
    PreferencesOut,
)
from pushwise.api.schemas.privacy import ErasedOut, UserDataOut
from pushwise.api.schemas.providers import (
    ApnsIn,
    ApnsOut,
    FcmIn,
    FcmOut,
    VapidPublicKeyOut,
    WebPushIn,
    WebPushOut,
)
from pushwise.api.schemas.receipts import ReceiptsIn, ReceiptsOut
from pushwise.api.schemas.segments import (
    SegmentIn,
    SegmentOut,
    SegmentPage,
    SegmentPreviewIn,
    SegmentPreviewOut,
)
from pushwise.api.schemas.templates import PreviewIn, PreviewOut, TemplateIn, TemplateList, TemplateOut
from pushwise.api.schemas.uplift_models import ScoreIn, ScoresOut, UpliftModelIn, UpliftModelOut
from pushwise.api.schemas.users import UserIn, UserOut, UserProfileOut, UsersBatchIn, UsersBatchOut
from pushwise.api.schemas.vendors import HonorIn, HuaweiIn, OppoIn, VendorOut, VivoIn, XiaomiIn
from pushwise.api.user_tokens import USER_TOKEN_HEADER
from pushwise.client.calls import Call, Pages

NoContent = type(None)
AsUser = {"user_token": USER_TOKEN_HEADER}  # a client key acting for one user (API.md, Inbox)
Page = ("cursor", "limit")


class Endpoints:
    # Notifications (server key)
    send_notification = Call(
        "POST", "/v1/notifications", AcceptedOut, body=NotificationIn, idempotent_send=True
    )
    get_notification = Call("GET", "/v1/notifications/{notification_id}", NotificationOut)
    list_deliveries = Call(
        "GET",
        "/v1/notifications/{notification_id}/deliveries",
        DeliveryPage,
        query=("state", "include", *Page),
    )
    iter_deliveries = Pages(list_deliveries, DeliveryOut)
    get_delivery = Call("GET", "/v1/notifications/{notification_id}/deliveries/{delivery_id}", DeliveryOut)
    cancel_notification = Call(
        "POST", "/v1/notifications/{notification_id}/cancel", CancelOut, retry_safe=True
    )

    # Devices (server key; a client key with the user's token)
    register_device = Call("POST", "/v1/devices", DeviceOut, body=DeviceIn, headers=AsUser, retry_safe=True)
    register_devices = Call("POST", "/v1/devices:batch", DeviceBatchOut, body=DeviceBatchIn, retry_safe=True)
    get_device = Call("GET", "/v1/devices/{device_id}", DeviceOut)
    report_permission = Call(
        "PATCH", "/v1/devices/{device_id}", DeviceOut, body=DevicePermissionIn, headers=AsUser
    )
    delete_device = Call("DELETE", "/v1/devices/{device_id}", NoContent, headers=AsUser)

    # Users, their events, preferences and data (server key; events also a client key + user_token=)
    put_user = Call("PUT", "/v1/users/{external_id}", UserOut, body=UserIn)
    put_users = Call("POST", "/v1/users/batch", UsersBatchOut, body=UsersBatchIn, retry_safe=True)
    get_user = Call("GET", "/v1/users/{external_id}", UserProfileOut)
    delete_user = Call("DELETE", "/v1/users/{external_id}", NoContent)
    post_events = Call("POST", "/v1/events", EventsOut, body=EventsIn, headers=AsUser, retry_safe=True)
    get_preferences = Call("GET", "/v1/users/{external_id}/preferences", PreferencesOut)
    patch_preferences = Call(
        "PATCH", "/v1/users/{external_id}/preferences", PreferencesOut, body=PreferencesIn
    )
    preference_link = Call(
        "POST",
        "/v1/users/{external_id}/preferences/link",
        PreferenceLinkOut,
        body=PreferenceLinkIn,
        retry_safe=True,
    )
    export_user_data = Call("GET", "/v1/users/{external_id}/data", UserDataOut)
    erase_user_data = Call("DELETE", "/v1/users/{external_id}/data", ErasedOut)
    issue_user_token = Call(
        "POST", "/v1/users/{external_id}/token", UserTokenOut, body=UserTokenIn, retry_safe=True
    )

    # A user's inbox, read by the app's backend (server key)
    list_inbox = Call("GET", "/v1/users/{external_id}/inbox", InboxPageOut, query=("unread", *Page))
    iter_inbox = Pages(list_inbox, InboxItemOut)
    mark_inbox_read = Call(
        "POST", "/v1/users/{external_id}/inbox/{item_id}/read", InboxItemOut, retry_safe=True
    )
    mark_inbox_unread = Call(
        "POST", "/v1/users/{external_id}/inbox/{item_id}/unread", InboxItemOut, retry_safe=True
    )
    delete_inbox_item = Call("DELETE", "/v1/users/{external_id}/inbox/{item_id}", NoContent)

    # A user's own inbox (client key plus user_token=)
    list_my_inbox = Call("GET", "/v1/inbox", InboxPageOut, query=("unread", *Page), headers=AsUser)
    iter_my_inbox = Pages(list_my_inbox, InboxItemOut)
    mark_my_inbox_read = Call(
        "POST", "/v1/inbox/{item_id}/read", InboxItemOut, headers=AsUser, retry_safe=True
    )
    mark_my_inbox_unread = Call(
        "POST", "/v1/inbox/{item_id}/unread", InboxItemOut, headers=AsUser, retry_safe=True
    )
    delete_my_inbox_item = Call("DELETE", "/v1/inbox/{item_id}", NoContent, headers=AsUser)

    # Apps and keys (admin key; an app's own server key for get_app and its keys)
    create_app = Call("POST", "/v1/apps", AppCreatedOut, body=AppIn)
    list_apps = Call("GET", "/v1/apps", AppPage)
    get_app = Call("GET", "/v1/apps/{app_id}", AppOut)
    issue_key = Call("POST", "/v1/apps/{app_id}/keys", KeyCreatedOut, body=KeyIn)
    revoke_key = Call("DELETE", "/v1/apps/{app_id}/keys/{key_id}", KeyOut)

    # Providers (server key)
    put_apns_provider = Call("PUT", "/v1/apps/{app_id}/providers/apns", ApnsOut, body=ApnsIn)
    get_apns_provider = Call("GET", "/v1/apps/{app_id}/providers/apns", ApnsOut)
    delete_apns_provider = Call("DELETE", "/v1/apps/{app_id}/providers/apns", ApnsOut)
    put_fcm_provider = Call("PUT", "/v1/apps/{app_id}/providers/fcm", FcmOut, body=FcmIn)
    get_fcm_provider = Call("GET", "/v1/apps/{app_id}/providers/fcm", FcmOut)
    delete_fcm_provider = Call("DELETE", "/v1/apps/{app_id}/providers/fcm", FcmOut)
    put_webpush_provider = Call("PUT", "/v1/apps/{app_id}/providers/webpush", WebPushOut, body=WebPushIn)
    get_webpush_provider = Call("GET", "/v1/apps/{app_id}/providers/webpush", WebPushOut)
    delete_webpush_provider = Call("DELETE", "/v1/apps/{app_id}/providers/webpush", WebPushOut)
    get_vapid_public_key = Call("GET", "/v1/webpush/vapid-public-key", VapidPublicKeyOut)
    put_email_provider = Call(
        "PUT", "/v1/apps/{app_id}/providers/email", EmailProviderOut, body=EmailProviderIn
    )
    get_email_provider = Call("GET", "/v1/apps/{app_id}/providers/email", EmailProviderOut)
    delete_email_provider = Call("DELETE", "/v1/apps/{app_id}/providers/email", EmailProviderOut)
    put_webhook_provider = Call(
        "PUT", "/v1/apps/{app_id}/providers/webhook", WebhookProviderOut, body=WebhookProviderIn
    )
    get_webhook_provider = Call("GET", "/v1/apps/{app_id}/providers/webhook", WebhookProviderOut)
    delete_webhook_provider = Call("DELETE", "/v1/apps/{app_id}/providers/webhook", WebhookProviderOut)

    # China's phone makers' push services (server key)
    put_huawei_provider = Call("PUT", "/v1/apps/{app_id}/providers/huawei", VendorOut, body=HuaweiIn)
    get_huawei_provider = Call("GET", "/v1/apps/{app_id}/providers/huawei", VendorOut)
    delete_huawei_provider = Call("DELETE", "/v1/apps/{app_id}/providers/huawei", VendorOut)
    put_honor_provider = Call("PUT", "/v1/apps/{app_id}/providers/honor", VendorOut, body=HonorIn)
    get_honor_provider = Call("GET", "/v1/apps/{app_id}/providers/honor", VendorOut)
    delete_honor_provider = Call("DELETE", "/v1/apps/{app_id}/providers/honor", VendorOut)
    put_xiaomi_provider = Call("PUT", "/v1/apps/{app_id}/providers/xiaomi", VendorOut, body=XiaomiIn)
    get_xiaomi_provider = Call("GET", "/v1/apps/{app_id}/providers/xiaomi", VendorOut)
    delete_xiaomi_provider = Call("DELETE", "/v1/apps/{app_id}/providers/xiaomi", VendorOut)
    put_oppo_provider = Call("PUT", "/v1/apps/{app_id}/providers/oppo", VendorOut, body=OppoIn)
    get_oppo_provider = Call("GET", "/v1/apps/{app_id}/providers/oppo", VendorOut)
    delete_oppo_provider = Call("DELETE", "/v1/apps/{app_id}/providers/oppo", VendorOut)
    put_vivo_provider = Call("PUT", "/v1/apps/{app_id}/providers/vivo", VendorOut, body=VivoIn)
    get_vivo_provider = Call("GET", "/v1/apps/{app_id}/providers/vivo", VendorOut)
    delete_vivo_provider = Call("DELETE", "/v1/apps/{app_id}/providers/vivo", VendorOut)

    # The app's policy and categories (server key)
    put_policy = Call("PUT", "/v1/apps/{app_id}/policy", PolicyOut, body=PolicyIn)
    get_policy = Call("GET", "/v1/apps/{app_id}/policy", PolicyOut)
    # What the gate would do with a notification to a user, and why (server key)
    explain = Call("POST", "/v1/gate/explain", ExplainOut, body=ExplainIn)
    put_categories = Call(
        "PUT",
        "/v1/apps/{app_id}/categories",
        list[CategoryOut],
        body=Annotated[list[CategoryIn], Field(max_length=MAX_CATEGORIES)],
        body_arg="categories",
    )
    get_categories = Call("GET", "/v1/apps/{app_id}/categories", list[CategoryOut])
    # Feedback counts per campaign, category or template (server key)
    feedback_by = Call("GET", "/v1/feedback", FeedbackByOut, query=("by",))

    # Templates (server key)
    put_template = Call("PUT", "/v1/templates/{key}", TemplateOut, body=TemplateIn)
    get_template = Call("GET", "/v1/templates/{key}", TemplateOut)
    list_templates = Call("GET", "/v1/templates", TemplateList)
    delete_template = Call("DELETE", "/v1/templates/{key}", NoContent)
    preview_template = Call(
        "POST", "/v1/templates/{key}/preview", PreviewOut, body=PreviewIn, retry_safe=True
    )

    # Segments (server key)
    create_segment = Call("POST", "/v1/segments", SegmentOut, body=SegmentIn)
    list_segments = Call("GET", "/v1/segments", SegmentPage, query=Page)
    iter_segments = Pages(list_segments, SegmentOut)
    get_segment = Call("GET", "/v1/segments/{segment_id}", SegmentOut)
    put_segment = Call("PUT", "/v1/segments/{segment_id}", SegmentOut, body=SegmentIn)
    delete_segment = Call("DELETE", "/v1/segments/{segment_id}", NoContent)
    preview_segment = Call(
        "POST", "/v1/segments/preview", SegmentPreviewOut, body=SegmentPreviewIn, retry_safe=True
    )

    # Campaigns and their journeys (server key)
    create_campaign = Call("POST", "/v1/campaigns", CampaignOut, body=CampaignIn)
    list_campaigns = Call("GET", "/v1/campaigns", list[CampaignOut])
    get_campaign = Call("GET", "/v1/campaigns/{campaign_id}", CampaignOut)
    pause_campaign = Call("POST", "/v1/campaigns/{campaign_id}/pause", CampaignOut)
    resume_campaign = Call("POST", "/v1/campaigns/{campaign_id}/resume", CampaignOut)
    campaign_deliveries = Call(
        "GET", "/v1/campaigns/{campaign_id}/deliveries", CampaignDeliveryPage, query=("cursor", "limit")
    )
    campaign_analytics = Call(
        "GET", "/v1/campaigns/{campaign_id}/analytics", AnalyticsOut, query=("format", "by")
    )
    # The catalogue and each user's picks (server key)
    put_items = Call("PUT", "/v1/catalog/items", ItemsOut, body=ItemsIn)
    get_item = Call("GET", "/v1/catalog/items/{item_id}", ItemOut)
    delete_item = Call("DELETE", "/v1/catalog/items/{item_id}", NoContent)
    get_picks = Call("GET", "/v1/users/{external_id}/picks", PicksOut)

    # Experiments and uplift models (server key)
    create_experiment = Call("POST", "/v1/experiments", ExperimentOut, body=ExperimentIn)
    assign_experiment = Call(
        "POST",
        "/v1/experiments/{experiment_id}/assignments",
        AssignedOut,
        body=AssignmentsIn,
        retry_safe=True,
    )
    get_experiment = Call(
        "GET",
        "/v1/experiments/{experiment_id}",
        ExperimentResultOut,
        query=("goal_event", "measure", "window_hours"),
    )
    create_uplift_model = Call("POST", "/v1/uplift-models", UpliftModelOut, body=UpliftModelIn)
    get_uplift_model = Call("GET", "/v1/uplift-models/{model_id}", UpliftModelOut)
    score_uplift_model = Call(
        "POST", "/v1/uplift-models/{model_id}/score", ScoresOut, body=ScoreIn, retry_safe=True
    )

    # The audit log (admin key: every app; server key: its own)
    list_audit = Call("GET", "/v1/audit", AuditPage, query=Page)
    iter_audit = Pages(list_audit, AuditItemOut)

    # Receipts, failure notices, alerts (server key)
    put_receipts = Call("PUT", "/v1/apps/{app_id}/receipts", ReceiptsOut, body=ReceiptsIn)
    get_receipts = Call("GET", "/v1/apps/{app_id}/receipts", ReceiptsOut)
    delete_receipts = Call("DELETE", "/v1/apps/{app_id}/receipts", NoContent)
    put_failure_notice = Call(
        "PUT", "/v1/apps/{app_id}/failure-notice", FailureNoticeOut, body=FailureNoticeIn
    )
    get_failure_notice = Call("GET", "/v1/apps/{app_id}/failure-notice", FailureNoticeOut)
    delete_failure_notice = Call("DELETE", "/v1/apps/{app_id}/failure-notice", NoContent)
    get_failure_notice_answers = Call("GET", "/v1/apps/{app_id}/failure-notice/answers", NoticeAnswersOut)
    put_alert_sinks = Call(
        "PUT",
        "/v1/apps/{app_id}/alert-sinks",
        list[dict[str, Any]],
        body=list[dict[str, Any]],
        body_arg="sinks",
    )
    get_alert_sinks = Call("GET", "/v1/apps/{app_id}/alert-sinks", list[dict[str, Any]])
    put_alert_rules = Call(
        "PUT", "/v1/apps/{app_id}/alert-rules", dict[str, Any], body=list[dict[str, Any]], body_arg="rules"
    )
    get_alert_rules = Call("GET", "/v1/apps/{app_id}/alert-rules", dict[str, Any])
    list_alerts = Call("GET", "/v1/apps/{app_id}/alerts", dict[str, Any], query=("state", "limit"))
