"""`/v1/templates/{key}`: save (a new version each time), read, list, delete, preview for a user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.common import at
from pushwise.api.schemas.templates import PreviewIn, PreviewOut, TemplateIn, TemplateList, TemplateOut
from pushwise.domain.content.fit import size_warnings
from pushwise.domain.content.templates import RenderingFailed, TemplateInvalid, compile_template
from pushwise.store.templates import StoredTemplate

router = APIRouter(prefix="/v1/templates", tags=["templates"])

KeyPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


def _out(stored: StoredTemplate, feedback: Mapping[str, int]) -> TemplateOut:
    compiled = compile_template(stored.key, stored.version, stored.definition)
    return TemplateOut(
        key=stored.key,
        version=stored.version,
        locales=dict(stored.definition.get("locales") or {}),
        variants=list(stored.definition.get("variants") or []),
        created_at=at(stored.created_at),
        warnings=[warning.as_dict() for warning in size_warnings(compiled)],
        feedback=dict(feedback),
    )


@router.put("/{key}", responses={201: {"description": "Created"}})
async def put_template(
    key: KeyPath,
    body: TemplateIn,
    principal: Server,
    services: ServicesDep,
    stores: StoresDep,
    response: Response,
) -> TemplateOut:
    """Saved as a new version; notifications already accepted keep rendering the version they named."""
    definition = body.model_dump()
    try:
        compile_template(key, 0, definition)
    except TemplateInvalid as invalid:
        raise ApiError(422, "invalid_template", invalid.message, invalid.path) from invalid
    stored = await services.engine.templates.put(
        principal.app_id_required, key, definition, services.clock.now()
    )
    if stored.version == 1:
        response.status_code = status.HTTP_201_CREATED
    return _out(stored, await stores.feedback.of(principal.app_id_required, "template", key))


@router.get("")
async def list_templates(principal: Server, services: ServicesDep, stores: StoresDep) -> TemplateList:
    app_id = principal.app_id_required
    feedback = await stores.feedback.by_key(app_id, "template")
    return TemplateList(
        items=[_out(t, feedback.get(t.key, {})) for t in await services.engine.templates.list(app_id)]
    )


@router.get("/{key}")
async def get_template(
    key: KeyPath, principal: Server, services: ServicesDep, stores: StoresDep
) -> TemplateOut:
    """The current version, with `feedback`: the events answering pushes of any of its versions."""
    app_id = principal.app_id_required
    stored = await services.engine.templates.current(app_id, key)
    if stored is None:
        raise not_found("template")
    return _out(stored, await stores.feedback.of(app_id, "template", key))


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(key: KeyPath, principal: Server, services: ServicesDep) -> None:
    """Notifications already accepted still render their version; new ones cannot name the key."""
    if not await services.engine.templates.delete(principal.app_id_required, key, services.clock.now()):
        raise not_found("template")


@router.post("/{key}/preview")
async def preview_template(
    key: KeyPath, body: PreviewIn, principal: Server, services: ServicesDep, stores: StoresDep
) -> PreviewOut:
    """What the user would get now, rendered by the same code as a send."""
    app_id = principal.app_id_required
    stored = await services.engine.templates.current(app_id, key)
    if stored is None:
        raise not_found("template")
    user = await stores.users.get(app_id, body.user_id)
    if user is None:
        raise ApiError(404, "not_found", "no such user", "user_id")
    compiled = (await services.engine.templates.compiled(app_id, [(key, stored.version)]))[
        (key, stored.version)
    ]
    if body.variant is not None and body.variant not in compiled.variant_keys:
        raise ApiError(422, "unknown_variant", f"the template has no variant {body.variant!r}", "variant")
    try:
        locale, parts = await services.engine.renderer.preview(
            compiled,
            user.id,
            channel=body.channel,
            variant=body.variant,
            locale=body.locale,
            variables=body.variables,
            data=body.data,
        )
    except RenderingFailed as failed:
        raise ApiError(422, "render_failed", str(failed)) from failed
    return PreviewOut(key=key, version=stored.version, locale=locale, variant=body.variant, parts=parts)
