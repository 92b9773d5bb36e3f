"""Where the hosted pages live, as signed links a user can follow."""

from __future__ import annotations

from pushwise.domain.signed_tokens import issue_notice_answer_token, issue_preference_token

PREFERENCE_PAGE_PATH = "/v1/preferences"
NOTICE_ANSWER_PATH = "/v1/notice-answers"


def preference_page_path(secret_key: bytes, app_id: str, user_id: str, expires_at: int) -> str:
    return f"{PREFERENCE_PAGE_PATH}/{issue_preference_token(secret_key, app_id, user_id, expires_at)}"


def preference_page_url(secret_key: bytes, base_url: str, app_id: str, user_id: str, expires_at: int) -> str:
    return base_url.rstrip("/") + preference_page_path(secret_key, app_id, user_id, expires_at)


def notice_answer_url(secret_key: bytes, base_url: str, app_id: str, user_id: str) -> str:
    """Where the failure notice's one-tap answer goes (`POST`), or opens as a page (`GET`)."""
    token = issue_notice_answer_token(secret_key, app_id, user_id)
    return f"{base_url.rstrip('/')}{NOTICE_ANSWER_PATH}/{token}"
