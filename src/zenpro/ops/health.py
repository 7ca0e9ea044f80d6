"""Operations endpoints: liveness and readiness."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from zenpro import __version__, routing
from zenpro.authz.guards import Public
from zenpro.kit.migrate import current_revision

router = routing.router(dependencies=[Public], tags=["operations"])


class Health(BaseModel):
    status: str = Field(description="`ok`.")
    version: str = Field(description="zenpro version.")


class Ready(BaseModel):
    status: str = Field(description="`ready` or `unavailable`.")
    database: str = Field(description="`ok` or why not.")
    migrations: str = Field(description="`ok`, or the current and expected revisions.")


@router.get("/health")
async def health() -> Health:
    """Liveness

    The process is alive. Touches no database.
    """
    return Health(status="ok", version=__version__)


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "Not ready."}},
)
async def ready(request: Request) -> JSONResponse:
    """Readiness

    200 when the database answers and its schema is at the expected migration head; 503 (with
    `Retry-After`) otherwise.
    """
    state = request.app.state
    database, migrations = "ok", "ok"
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        current = await current_revision_cached(request)
        if current != state.expected_head:
            migrations = f"at {current}, expected {state.expected_head}"
    except Exception as exc:  # any failure to reach the DB means "not ready"
        database = f"unreachable: {type(exc).__name__}"
    ok = database == "ok" and migrations == "ok"
    body = Ready(status="ready" if ok else "unavailable", database=database, migrations=migrations)
    return JSONResponse(
        body.model_dump(),
        status_code=200 if ok else 503,
        headers={} if ok else {"Retry-After": "5"},
    )


async def current_revision_cached(request: Request) -> str | None:
    engine = request.app.state.engine
    async with engine.connect() as conn:
        row = await conn.execute(text("SELECT version_num FROM alembic_version"))
        value = row.scalar()
    return None if value is None else str(value)


__all__ = ["current_revision", "router"]
