"""The OS notification permission a client reports for its device, and what pushwise makes of it.

iOS (`authorizationStatus`), Android (`areNotificationsEnabled`) and browsers
(`Notification.permission`) all let the user turn notifications off without
removing the app. A push sent then is accepted by the provider and shown to no
one, so a device reported `denied` is deactivated like a dead one, under its own
reason, and comes back when the client reports `granted` again. Only that reason
comes back: a token a provider declared dead stays dead until it is registered
again.

No column holds the permission itself: `denied` is a device inactive for
`PermissionDenied`; an active device is one pushwise treats as `granted` (what it
sends to); a device inactive for another reason has no known permission.
"""

from __future__ import annotations

from typing import Literal

PERMISSION_DENIED = "PermissionDenied"

Permission = Literal["granted", "denied"]


def shown_permission(*, active: bool, deactivated_reason: str | None) -> Permission | None:
    if active:
        return "granted"
    return "denied" if deactivated_reason == PERMISSION_DENIED else None
