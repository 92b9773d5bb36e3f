"""The routes of the e-mail, webhook and inbox channels (issue 3), registered together."""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.routes import (
    email_provider,
    failure_notice,
    inbox,
    inbox_client,
    unsubscribe,
    webhook_provider,
)

channel_routers: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (email_provider, webhook_provider, inbox, inbox_client, unsubscribe, failure_notice)
)
