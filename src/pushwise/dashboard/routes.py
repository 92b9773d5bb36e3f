"""`/dashboard`: login, overview (live over Server-Sent Events), notifications and their trail,
dead letters with replay, pruned devices, alerts, provider and credential health."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any, cast
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from pushwise.api.auth import authenticator_of, rate_limits_of
from pushwise.api.rate_limits import client_address, retry_after
from pushwise.bootstrap import Services
from pushwise.dashboard.overview import build_overview
from pushwise.dashboard.session import (
    COOKIE,
    Session,
    csrf_ok,
    new_session,
    open_session,
    seal,
    session_key,
    settings_admin_ref,
    stored_key_ref,
)
from pushwise.dashboard.user_page import user_page
from pushwise.store.apps import AppRepository
from pushwise.store.audit import SETTINGS_ADMIN, AuditLog
from pushwise.store.events import EventLog
from pushwise.store.operations import OperationsRepository
from pushwise.store.vendor_quota import VendorQuotaUse

router = APIRouter(prefix="/dashboard", include_in_schema=False)
LIVE_SECONDS = 2.0
_STATIC = {"dashboard.css": "text/css", "live.js": "text/javascript"}
_SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}

templates = Environment(
    loader=PackageLoader("pushwise.dashboard", "templates"), autoescape=select_autoescape(), enable_async=True
)
templates.filters["when"] = lambda t: (
    "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
)
templates.filters["utc_day"] = lambda t: datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


class LoginRequired(Exception):
    pass


def _services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


async def _session(request: Request) -> Session:
    services = _services(request)
    session = open_session(
        request.cookies.get(COOKIE), session_key(services.secret_key), services.clock.now()
    )
    if session is None or not await _key_still_valid(request, session):
        raise LoginRequired
    return session


async def _key_still_valid(request: Request, session: Session) -> bool:
    """Whether the key the session was made from still exists, unrevoked (cached a few seconds)."""
    services = _services(request)
    if session.key_ref.startswith("settings:"):
        admin_key = services.settings.admin_key
        current = settings_admin_ref(admin_key, session_key(services.secret_key)) if admin_key else ""
        return hmac.compare_digest(session.key_ref.encode(), current.encode())
    record = await authenticator_of(request).key_active(session.key_ref.removeprefix("id:"))
    return record is not None and record.kind == session.kind and record.app_id == session.app_id


async def _app_of(request: Request, session: Session) -> tuple[str | None, list[Any]]:
    """The app this page shows: the server key's own, or the admin's choice (`?app=`)."""
    if session.app_id is not None:
        return session.app_id, []
    services = _services(request)
    apps = await AppRepository(services.db, services.clock).list_all()
    wanted = request.query_params.get("app")
    chosen = next((a.id for a in apps if a.id == wanted), apps[0].id if apps else None)
    return chosen, apps


async def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    html = await templates.get_template(name).render_async(request=request, **context)
    return HTMLResponse(html, headers=_SECURITY_HEADERS)


async def _form(request: Request) -> dict[str, str]:
    parsed = parse_qs((await request.body()).decode(), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def _to_login() -> RedirectResponse:
    return RedirectResponse("/dashboard/login", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    return await _page(request, "login.html", error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    # Every attempt spends from the address's log-in budget, so guessing keys is slow.
    wait = rate_limits_of(request).login_wait(client_address(request.scope))
    if wait:
        page = await _page(
            request, "login.html", error="Too many log-in attempts: wait a little and try again."
        )
        page.status_code = 429
        page.headers["retry-after"] = retry_after(wait)
        return page
    form = await _form(request)
    principal = await authenticator_of(request).authenticate(form.get("key", ""))
    if principal is None or principal.kind not in ("admin", "server"):
        page = await _page(request, "login.html", error="Use an admin key or an app's server key.")
        page.status_code = 401
        return page
    services = _services(request)
    key_ref = (
        settings_admin_ref(form.get("key", ""), session_key(services.secret_key))
        if principal.key_id is None
        else stored_key_ref(principal.key_id)
    )
    session = new_session(principal.kind, principal.app_id, key_ref, services.clock.now())
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        COOKIE,
        seal(session, session_key(services.secret_key)),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/dashboard",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        session = await _session(request)
    except LoginRequired:
        return _to_login()
    if not csrf_ok(session, (await _form(request)).get("csrf")):
        return Response("CSRF token missing or wrong", status_code=403)
    response = _to_login()
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in _STATIC:
        return Response(status_code=404)
    body = resources.files("pushwise.dashboard").joinpath("static", name).read_bytes()
    return Response(
        body,
        media_type=_STATIC[name],
        headers={"cache-control": "max-age=300", "x-content-type-options": "nosniff"},
    )


async def _context(request: Request) -> dict[str, Any] | Response:
    try:
        session = await _session(request)
    except LoginRequired:
        return _to_login()
    app_id, apps = await _app_of(request, session)
    return {"session": session, "app_id": app_id, "apps": apps, "path": request.url.path}


@router.get("")
async def overview(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    services = _services(request)
    view = None
    if context["app_id"] is not None:
        view = await build_overview(
            services.monitoring, context["app_id"], services.clock.now(), VendorQuotaUse(services.db)
        )
    return await _page(request, "overview.html", view=view, **context)


@router.get("/events")
async def events(request: Request) -> Response:
    """Server-Sent Events: the overview's numbers and chart every couple of seconds.

    The stream ends once the session's key is revoked; the browser's reconnect then gets a 401.
    """
    context = await _context(request)
    if isinstance(context, Response) or context["app_id"] is None:
        return Response(status_code=401)
    services, app_id, session = _services(request), str(context["app_id"]), context["session"]

    async def stream() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        while not await request.is_disconnected() and await _key_still_valid(request, session):
            view = await build_overview(services.monitoring, app_id, services.clock.now())
            data = orjson.dumps({**view.numbers(), "chart": view.chart})
            yield b"event: overview\ndata: " + data + b"\n\n"
            await asyncio.sleep(LIVE_SECONDS)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


@router.get("/notifications")
async def notification_list(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    rows = []
    if context["app_id"] is not None:
        rows = await OperationsRepository(_services(request).db).recent_notifications(context["app_id"])
    return await _page(request, "notifications.html", rows=rows, **context)


@router.get("/notifications/{notification_id}")
async def notification_trail(request: Request, notification_id: str) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    services = _services(request)
    app_id = context["app_id"]
    found = await OperationsRepository(services.db).notification(app_id, notification_id) if app_id else None
    if found is None:
        missing = await _page(request, "missing.html", what="notification", **context)
        missing.status_code = 404
        return missing
    deliveries = await services.engine.notifications.deliveries(
        app_id, notification_id, state=None, after_id=0, limit=200
    )
    ids = [d.id for d in deliveries]
    attempts = await services.engine.notifications.attempts_of(ids)
    events = await EventLog(services.db).of_deliveries(ids)
    return await _page(
        request,
        "trail.html",
        notification=found,
        deliveries=deliveries,
        attempts=attempts,
        events=events,
        **context,
    )


@router.get("/users")
async def users(request: Request) -> Response:
    """Look a user up by the app's own id: profile, learning, preferences, recent deliveries and events."""
    context = await _context(request)
    if isinstance(context, Response):
        return context
    wanted = request.query_params.get("user", "").strip()[:255] or None
    view = None
    if wanted and context["app_id"] is not None:
        view = await user_page(_services(request), context["app_id"], wanted)
    return await _page(request, "user.html", view=view, wanted=wanted, **context)


@router.get("/notifications/{notification_id}/deliveries/{delivery_id}/why")
async def delivery_explained(request: Request, notification_id: str, delivery_id: int) -> Response:
    """The gate's reasoning about one delivery were it due now: the checks `POST /v1/gate/explain` walks."""
    context = await _context(request)
    if isinstance(context, Response):
        return context
    services = _services(request)
    app_id = context["app_id"]
    now = services.clock.now()
    found = (
        await services.engine.gate.explain_delivery(app_id, notification_id, delivery_id, now)
        if app_id
        else None
    )
    if found is None:
        missing = await _page(request, "missing.html", what="delivery", **context)
        missing.status_code = 404
        return missing
    return await _page(
        request,
        "why.html",
        notification_id=notification_id,
        delivery_id=delivery_id,
        found=found,
        now=now,
        **context,
    )


@router.get("/dead-letters")
async def dead_letters(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    rows = []
    if context["app_id"] is not None:
        rows = await OperationsRepository(_services(request).db).dead_letters(context["app_id"])
    replayed = request.query_params.get("replayed")
    return await _page(request, "dead_letters.html", rows=rows, replayed=replayed, **context)


@router.post("/dead-letters/replay")
async def replay(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    form = await _form(request)
    session: Session = context["session"]
    if not csrf_ok(session, form.get("csrf")):
        return Response("CSRF token missing or wrong", status_code=403)
    app_id = form.get("app", "")
    if not session.may_see(app_id):
        return Response(status_code=404)
    ids = [int(part) for part in form.get("delivery_ids", "").split(",") if part.strip().isdigit()]
    services = _services(request)
    replayed = await OperationsRepository(services.db).replay(app_id, ids, services.clock.now())
    services.monitoring.tally.replayed(app_id, replayed)
    services.engine.wake_workers()
    count = sum(replayed.values())
    actor = session.key_ref.removeprefix("id:") if session.key_ref.startswith("id:") else SETTINGS_ADMIN
    await AuditLog(services.db, services.clock).record(
        actor,
        "dead_letters.replay",
        app_id=app_id,
        target=f"{count} deliveries",
        ip=client_address(request.scope),
    )
    return RedirectResponse(f"/dashboard/dead-letters?app={app_id}&replayed={count}", status_code=303)


@router.get("/devices")
async def pruned_devices(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    rows = []
    if context["app_id"] is not None:
        rows = await OperationsRepository(_services(request).db).pruned_devices(context["app_id"])
    return await _page(request, "devices.html", rows=rows, **context)


@router.get("/alerts")
async def alerts(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    events: list[Any] = []
    if context["app_id"] is not None:
        events = await _services(request).monitoring.alerts.events(app_id=context["app_id"], limit=200)
    firing = [e for e in events if e.state == "firing"]
    history = [e for e in events if e.state != "firing"]
    return await _page(request, "alerts.html", firing=firing, history=history, **context)


@router.get("/health")
async def health(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    services, app_id = _services(request), context["app_id"]
    credentials = await services.monitoring.alerts.health(app_id) if app_id else []
    circuits = {
        ch: st for (app, ch), st in (await services.monitoring.endpoints.states()).items() if app == app_id
    }
    return await _page(request, "health.html", credentials=credentials, circuits=circuits, **context)
