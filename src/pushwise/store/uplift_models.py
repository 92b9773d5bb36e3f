"""Uplift models: the request, the training job's state, and the trained result.

Training is a job in the database, not in a process's memory. The leader claims a
model that is `training` and not leased (`lease_until` unset or past), renews its
lease while it works, and writes the result guarded by its lease: a process killed
mid-training simply stops renewing, its lease runs out, and the next claim (by any
process) starts the training again. `attempts` counts claims, so a model that keeps
killing its trainers is given up on instead of retried forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select, update

from pushwise.store.db import Database
from pushwise.store.ids import new_id
from pushwise.store.schema import experiments, uplift_models

TRAINING, READY, FAILED = "training", "ready", "failed"
_LISTED = 50


@dataclass(frozen=True, slots=True)
class UpliftModel:
    id: str
    app_id: str
    name: str
    spec: Mapping[str, Any]
    status: str
    error: str | None
    created_at: float
    trained_at: float | None
    attempts: int
    summary: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class ModelUse:
    """A send (notification or campaign) that an uplift model targeted."""

    experiment_id: str
    source: str
    source_id: str | None
    created_at: float


_COLUMNS = [column for column in uplift_models.c if column.name != "artifact"]


def _model(row: Any) -> UpliftModel:
    return UpliftModel(
        row.id,
        row.app_id,
        row.name,
        row.spec,
        row.status,
        row.error,
        row.created_at,
        row.trained_at,
        row.attempts,
        row.summary,
    )


class UpliftModelRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, app_id: str, name: str, spec: Mapping[str, Any], now: float) -> UpliftModel:
        model = UpliftModel(new_id("upm"), app_id, name, dict(spec), TRAINING, None, now, None, 0, None)

        def write(conn: Connection) -> None:
            conn.execute(
                uplift_models.insert(),
                [
                    {
                        "id": model.id,
                        "app_id": app_id,
                        "name": name,
                        "spec": model.spec,
                        "status": TRAINING,
                        "created_at": now,
                        "attempts": 0,
                    }
                ],
            )

        await self._db.transact(write, urgent=True)
        return model

    async def get(self, app_id: str, model_id: str) -> UpliftModel | None:
        def read(conn: Connection) -> UpliftModel | None:
            row = conn.execute(
                select(*_COLUMNS).where(uplift_models.c.id == model_id, uplift_models.c.app_id == app_id)
            ).first()
            return _model(row) if row is not None else None

        return await self._db.query(read)

    async def listed(self, app_id: str) -> list[UpliftModel]:
        """The app's newest models first (the dashboard's list)."""

        def read(conn: Connection) -> list[UpliftModel]:
            query = (
                select(*_COLUMNS)
                .where(uplift_models.c.app_id == app_id)
                .order_by(uplift_models.c.created_at.desc())
                .limit(_LISTED)
            )
            return [_model(row) for row in conn.execute(query)]

        return await self._db.query(read)

    async def artifact(self, app_id: str, model_id: str) -> bytes | None:
        def read(conn: Connection) -> bytes | None:
            blob = conn.execute(
                select(uplift_models.c.artifact).where(
                    uplift_models.c.id == model_id, uplift_models.c.app_id == app_id
                )
            ).scalar()
            return bytes(blob) if blob is not None else None

        return await self._db.query(read)

    async def claim(self, owner: str, now: float, lease_seconds: float) -> UpliftModel | None:
        """Take the oldest model waiting for training whose lease is free; None when there is none."""

        def write(conn: Connection) -> UpliftModel | None:
            free = or_(uplift_models.c.lease_until.is_(None), uplift_models.c.lease_until < now)
            candidate = conn.execute(
                select(uplift_models.c.id)
                .where(uplift_models.c.status == TRAINING, free)
                .order_by(uplift_models.c.created_at)
                .limit(1)
            ).scalar()
            if candidate is None:
                return None
            taken = conn.execute(
                update(uplift_models)
                .where(uplift_models.c.id == candidate, uplift_models.c.status == TRAINING, free)
                .values(
                    lease_owner=owner, lease_until=now + lease_seconds, attempts=uplift_models.c.attempts + 1
                )
            )
            if taken.rowcount != 1:
                return None
            row = conn.execute(select(*_COLUMNS).where(uplift_models.c.id == candidate)).one()
            return _model(row)

        return await self._db.transact(write)

    async def renew(self, model_id: str, owner: str, until: float) -> bool:
        """Extend the lease; False if this process no longer holds it."""
        return await self._write_held(model_id, owner, {"lease_until": until})

    async def release(self, model_id: str, owner: str) -> bool:
        """Give the lease back at once (training stopped early; another try may follow)."""
        return await self._write_held(model_id, owner, {"lease_owner": None, "lease_until": None})

    async def complete(
        self, model_id: str, owner: str, summary: Mapping[str, Any], artifact: bytes, now: float
    ) -> bool:
        values = {
            "status": READY,
            "summary": dict(summary),
            "artifact": artifact,
            "trained_at": now,
            "error": None,
            "lease_owner": None,
            "lease_until": None,
        }
        return await self._write_held(model_id, owner, values)

    async def fail(self, model_id: str, owner: str, error: str, now: float) -> bool:
        values = {
            "status": FAILED,
            "error": error,
            "trained_at": now,
            "lease_owner": None,
            "lease_until": None,
        }
        return await self._write_held(model_id, owner, values)

    async def _write_held(self, model_id: str, owner: str, values: Mapping[str, Any]) -> bool:
        def write(conn: Connection) -> bool:
            done = conn.execute(
                update(uplift_models)
                .where(
                    uplift_models.c.id == model_id,
                    uplift_models.c.lease_owner == owner,
                    uplift_models.c.status == TRAINING,
                )
                .values(**values)
            )
            return done.rowcount == 1

        return await self._db.transact(write)

    async def uses(self, app_id: str, model_id: str) -> list[ModelUse]:
        """The notifications and campaigns this model targeted (the planner records them)."""

        def read(conn: Connection) -> list[ModelUse]:
            query = (
                select(
                    experiments.c.id, experiments.c.source, experiments.c.source_id, experiments.c.created_at
                )
                .where(experiments.c.app_id == app_id, experiments.c.model_id == model_id)
                .order_by(experiments.c.created_at.desc())
                .limit(_LISTED)
            )
            return [ModelUse(*row) for row in conn.execute(query)]

        return await self._db.query(read)
