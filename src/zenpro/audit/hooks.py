"""Record state changes as ``audit_events`` rows, in the same transaction.

Central, like the cache-epoch hooks in ``zenpro.kit.cache``: an ``after_flush`` hook sees
every ORM insert/update/delete, and a ``do_orm_execute`` hook sees bulk ``update()`` /
``delete()`` statements. Both write through the session's connection *inside the open
transaction*, so an event commits exactly when its change does: a request that fails or
rolls back leaves no event, and a committed change always has one.

Who and from where come from the request the session serves (``get_db`` puts it in
``session.info["request"]``); sessions without a request (the reconciler, the CLI) are
recorded as ``system``.

Secrets never reach the trail: columns whose names say they hold one are redacted.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.visitors import iterate

from zenpro.auth.principal import Principal
from zenpro.kit.db import utcnow
from zenpro.kit.net import client_ip

REQUEST = "request"
REDACTED = "[redacted]"
_SECRET_MARKS = ("hash", "secret", "token", "enrollment_key", "device_code", "user_code")
# Tables whose rows are not state of their own (or are the trail itself).
_SKIP = frozenset({"audit_events", "cache_epochs", "alembic_version", "oidc_flows"})
# Bookkeeping columns: an UPDATE that touches only these is not an audited change.
_BOOKKEEPING = frozenset({"last_used", "last_poll", "updated", "status_updated"})
# Rows without an organization_id: (parent table, foreign-key column) to find it.
_PARENT: dict[str, tuple[str, str]] = {
    "team_members": ("teams", "team_id"),
    "role_permissions": ("roles", "role_id"),
    "shares": ("workspaces", "workspace_id"),
    "tokens": ("workspaces", "workspace_id"),
    "devices": ("workspaces", "workspace_id"),
    "api_keys": ("users", "user_id"),
}


def is_secret(column: str) -> bool:
    """Whether a column holds (the hash of) a credential; its value is never recorded."""
    name = column.lower()
    if name == "password" or name.endswith(("_key", "_password")):
        return True
    return any(mark in name for mark in _SECRET_MARKS)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


def redact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: REDACTED if is_secret(k) else _plain(v) for k, v in values.items()}


def _actor(session: Session) -> dict[str, Any]:
    request = session.info.get(REQUEST)
    if request is None:
        return {"actor_type": "system", "actor_id": None, "ip": None, "request_id": None}
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        kind, actor_id = "anonymous", None
    else:
        kind, actor_id = str(principal.kind), principal.actor_id
    settings = request.app.state.settings
    return {
        "actor_type": kind,
        "actor_id": actor_id,
        "ip": client_ip(request.scope, settings)[:64],
        "request_id": str(getattr(request.state, "request_id", ""))[:64] or None,
        "via": f"{request.method} {request.url.path}"[:300],
    }


def _column_values(obj: Any) -> dict[str, Any]:
    # The loaded state only: never trigger a load from inside a flush.
    state = inspect(obj)
    return {attr.key: state.dict.get(attr.key) for attr in state.mapper.column_attrs}


def _changes(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            out[attr.key] = hist.added[0] if hist.added else None
    return out


def _org_of(session: Session, table: str, values: dict[str, Any]) -> uuid.UUID | None:
    if table == "organizations":
        org: uuid.UUID | None = values.get("id")
        return org
    if values.get("organization_id") is not None:
        found: uuid.UUID | None = values["organization_id"]
        return found
    parent = _PARENT.get(table)
    if parent is None or values.get(parent[1]) is None:
        return None
    from zenpro.models import Base

    ptable = Base.metadata.tables[parent[0]]
    stmt = select(ptable.c.organization_id).where(ptable.c.id == values[parent[1]])
    result: uuid.UUID | None = session.connection().execute(stmt).scalar()
    return result


def _row(
    session: Session,
    actor: dict[str, Any],
    change: tuple[str, str, dict[str, Any], dict[str, Any]],
) -> dict[str, Any]:
    action, table, values, row = change
    rid = row.get("id")
    return {
        "id": uuid.uuid4(),
        "created": utcnow(),
        "organization_id": _org_of(session, table, row),
        "action": action,
        "resource_type": table,
        "resource_id": str(rid) if rid is not None else None,
        "outcome": "success",
        "changes": redact(values),
        **actor,
    }


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        from zenpro.models import AuditEvent

        session.connection().execute(insert(AuditEvent), rows)


def _after_flush(session: Session, _ctx: UOWTransaction) -> None:
    # (action, table, values recorded, the row's known columns: for its id and org)
    pending: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    for obj in session.new:
        table = getattr(obj, "__tablename__", "")
        if table and table not in _SKIP:
            row = _column_values(obj)
            pending.append(("create", table, row, row))
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", "")
        if not table or table in _SKIP:
            continue
        changed = _changes(obj)
        if set(changed) - _BOOKKEEPING:
            pending.append(("update", table, changed, _column_values(obj)))
    for obj in session.deleted:
        table = getattr(obj, "__tablename__", "")
        if table and table not in _SKIP:
            row = _column_values(obj)
            pending.append(("delete", table, row, row))
    if pending:
        actor = _actor(session)
        _write(session, [_row(session, actor, change) for change in pending])


def _bulk_values(state: ORMExecuteState) -> set[str]:
    values = getattr(state.statement, "_values", None) or {}
    return {getattr(k, "key", str(k)) for k in values}


def _where_equals(where: ColumnElement[bool] | None) -> dict[str, Any]:
    """``column = value`` pairs of a bulk statement's WHERE (to name the row and its org)."""
    found: dict[str, Any] = {}
    if where is None:
        return found
    for node in iterate(where):
        if isinstance(node, BinaryExpression) and isinstance(node.right, BindParameter):
            key = getattr(node.left, "key", None)
            if key in ("id", "organization_id") and node.operator.__name__ == "eq":
                found[key] = node.right.effective_value
    return found


def _on_execute(state: ORMExecuteState) -> Any:
    """Bulk UPDATE/DELETE through the ORM: run it, and record it when it touched rows."""
    if not (state.is_update or state.is_delete) or state.is_select:
        return None
    mapper = state.bind_mapper
    table = getattr(getattr(mapper, "local_table", None), "name", "")
    if not table or table in _SKIP:
        return None
    columns = _bulk_values(state) if state.is_update else set()
    if state.is_update and columns and not columns - _BOOKKEEPING:
        return None
    result = state.invoke_statement()
    count = getattr(result, "rowcount", -1)
    if count == 0:
        return result
    where: ColumnElement[bool] | None = getattr(state.statement, "whereclause", None)
    values: dict[str, Any] = {**_where_equals(where), "bulk": True, "rows": count}
    values["where"] = str(where)[:500] if where is not None else ""
    if state.is_update:
        values["columns"] = sorted(columns)
    action = "update" if state.is_update else "delete"
    session = state.session
    _write(session, [_row(session, _actor(session), (action, table, values, values))])
    return result


def install() -> None:
    """Register the audit hooks once for every Session (after ``kit.cache.install``)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
