"""One workspace's directory, ``<ZENPRO_LOCAL_DATA_DIR>/servers/<workspace id>/``::

    supervisor.lock  an flock, held by the one zenpro process that supervises the server
    server.json      the running server: pid, the process' start time, port, key hash
    workspace.json   whose directory it is (which zenpro database) and the last port
    jwt.key          the server's JWT signing key (0600): its tokens survive restarts
    server.log       the server's output; server.log.1 … .3 after rotation
    zenml/           ZENML_CONFIG_PATH: the server's SQLite database and its config
    gone             since when the workspace's row is missing (a forced organization delete)

Nothing here holds the workspace's client secret (its enrollment key): that lives only in
the server process' environment and, hashed, in zenpro's database.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from zenpro.config import Settings

SERVERS = "servers"
LOG_MAX_BYTES = 5 * 1024 * 1024  # rotated beyond this size …
LOG_BACKUPS = 3  # … keeping this many older files
TAIL_LINES = 50


def servers_root(settings: Settings) -> Path:
    return settings.local_data_dir.absolute() / SERVERS


def database_fingerprint(settings: Settings) -> str:
    """Names the zenpro database (its URL without the password): a data directory shared
    by two zenpro deployments is never cleaned up by the one that does not own a workspace."""
    url = make_url(settings.database_url).set(password=None)
    return hashlib.sha256(url.render_as_string().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Record:
    """The running server, as its supervisor wrote it after starting it."""

    pid: int
    ticks: int  # the process' start time: a reused pid is not mistaken for it
    port: int
    key_hash: str  # sha256 of the enrollment key it was given (zenpro's database has it too)
    version: str
    started: float  # wall clock


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically (write aside, rename), readable by the owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class ServerDir:
    root: Path

    @classmethod
    def of(cls, settings: Settings, ws_id: uuid.UUID) -> ServerDir:
        return cls(servers_root(settings) / str(ws_id))

    @property
    def lock(self) -> Path:
        return self.root / "supervisor.lock"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def zenml_config(self) -> Path:
        return self.root / "zenml"

    def create(self) -> None:
        self.zenml_config.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.chmod(0o700)

    def record(self) -> Record | None:
        data = _read_json(self.root / "server.json")
        try:
            return Record(**data) if data else None
        except TypeError:
            return None

    def write_record(self, record: Record) -> None:
        _write_json(self.root / "server.json", asdict(record))

    def clear_record(self) -> None:
        (self.root / "server.json").unlink(missing_ok=True)

    def meta(self) -> dict[str, Any]:
        return _read_json(self.root / "workspace.json") or {}

    def write_meta(self, **values: Any) -> None:
        _write_json(self.root / "workspace.json", {**self.meta(), **values})

    def jwt_key(self) -> str:
        """The server's JWT key, made once. Not the workspace's credential: whoever can
        read this directory can read the server's whole database anyway."""
        path = self.root / "jwt.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(key := secrets.token_hex(32))
        return key

    def gone_since(self) -> float:
        """When this directory's workspace row was first found missing (now, the first time)."""
        path = self.root / "gone"
        try:
            return float(path.read_text())
        except (OSError, ValueError):
            now = time.time()
            path.write_text(str(now))
            return now

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def listing(settings: Settings) -> dict[uuid.UUID, ServerDir]:
    """Every workspace directory there is, by workspace id."""
    root = servers_root(settings)
    found: dict[uuid.UUID, ServerDir] = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in root.iterdir():
            with contextlib.suppress(ValueError):
                found[uuid.UUID(entry.name)] = ServerDir(entry)
    return found


class Lock:
    """An exclusive ``flock`` on a file, held until ``release`` or until the process ends
    (the kernel drops it then, so a crashed supervisor never leaves it behind). The
    descriptor is not inherited by children (PEP 446), so a server never holds it."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def try_acquire(cls, path: Path) -> Lock | None:
        """The lock, or None when another open file description holds it (another zenpro
        process, or another provisioner in this one)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return cls(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def rotate(log: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS) -> bool:
    """Copy-and-truncate rotation: the server writes with O_APPEND, so after the truncate
    its next line lands at the start of the emptied file (a line written between the copy
    and the truncate can be lost). True when it rotated."""
    try:
        if log.stat().st_size < max_bytes:
            return False
    except FileNotFoundError:
        return False
    for i in range(backups - 1, 0, -1):
        older = log.with_name(f"{log.name}.{i}")
        if older.exists():
            older.replace(log.with_name(f"{log.name}.{i + 1}"))
    shutil.copyfile(log, log.with_name(f"{log.name}.1"))
    os.truncate(log, 0)
    return True


def _last_lines(path: Path, lines: int, chunk: int = 64 * 1024) -> list[str]:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - chunk))
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-lines:]


def tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a server log (reaching into the rotated file when the
    current one was just emptied)."""
    found = _last_lines(log, lines)
    if len(found) < lines:
        found = _last_lines(log.with_name(f"{log.name}.1"), lines - len(found)) + found
    return "\n".join(found)


def log_tail(workspace_id: uuid.UUID, settings: Settings, lines: int = TAIL_LINES) -> str:
    """The last lines of a local workspace server's log, for administrators (the console).
    Empty when the workspace never ran here. The log holds what the ZenML server prints,
    and zenpro's own start and stop lines; never the workspace's client secret."""
    return tail(ServerDir.of(settings, workspace_id).log, lines)
