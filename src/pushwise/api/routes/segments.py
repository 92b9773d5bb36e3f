"""`/v1/segments`: saved segments (server key) and the preview of a rule: how many, and who."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.segments import (
    SegmentIn,
    SegmentOut,
    SegmentPage,
    SegmentPreviewIn,
    SegmentPreviewOut,
)
from pushwise.domain.audience.rule_parser import parse_rule
from pushwise.domain.audience.rules import Rule, RuleError
from pushwise.store.segments import SegmentInUse

router = APIRouter(prefix="/v1/segments", tags=["segments"])

SegmentId = Annotated[str, Path(min_length=1, max_length=40)]


def invalid_rule(error: RuleError) -> ApiError:
    return ApiError(422, "invalid_rule", error.message, error.path)


def parsed(rule: dict[str, Any], path: str = "rule") -> Rule:
    try:
        return parse_rule(rule, path)
    except RuleError as error:
        raise invalid_rule(error) from error


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_segment(body: SegmentIn, principal: Server, services: ServicesDep) -> SegmentOut:
    try:
        segment = await services.engine.segments.create(principal.app_id_required, body.name, body.rule)
    except RuleError as error:
        raise invalid_rule(error) from error
    return SegmentOut.of(segment)


@router.get("")
async def list_segments(
    principal: Server,
    services: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SegmentPage:
    found = await services.engine.segments.list(principal.app_id_required, after=cursor, limit=limit)
    return SegmentPage(
        items=[SegmentOut.of(segment) for segment in found],
        next_cursor=found[-1].id if len(found) == limit else None,
    )


@router.post("/preview")
async def preview_segment(
    body: SegmentPreviewIn, principal: Server, services: ServicesDep
) -> SegmentPreviewOut:
    """The users the rule selects now: their count and up to 20 external ids."""
    try:
        preview = await services.engine.segments.preview(principal.app_id_required, parsed(body.rule))
    except RuleError as error:
        raise invalid_rule(error) from error
    return SegmentPreviewOut.of(preview)


@router.get("/{segment_id}")
async def get_segment(segment_id: SegmentId, principal: Server, services: ServicesDep) -> SegmentOut:
    segment = await services.engine.segments.get(principal.app_id_required, segment_id)
    if segment is None:
        raise not_found("segment")
    return SegmentOut.of(segment)


@router.put("/{segment_id}")
async def put_segment(
    segment_id: SegmentId, body: SegmentIn, principal: Server, services: ServicesDep
) -> SegmentOut:
    """Replace the name and rule; notifications already accepted keep the audience they had."""
    try:
        segment = await services.engine.segments.update(
            principal.app_id_required, segment_id, body.name, body.rule
        )
    except RuleError as error:
        raise invalid_rule(error) from error
    if segment is None:
        raise not_found("segment")
    return SegmentOut.of(segment)


@router.delete("/{segment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_segment(segment_id: SegmentId, principal: Server, services: ServicesDep) -> None:
    try:
        deleted = await services.engine.segments.delete(principal.app_id_required, segment_id)
    except SegmentInUse as error:
        raise ApiError(
            409,
            "segment_in_use",
            f"saved segments name this one: {', '.join(error.used_by[:10])}; change them first",
        ) from error
    if not deleted:
        raise not_found("segment")
