"""The ``zenpro`` command: serve, migrate, create-admin."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import secrets
import signal
import sys

from pydantic import ValidationError

from zenpro.config import Settings, get_settings

log = logging.getLogger("zenpro.cli")
SERVER_MAX_HEAD_BYTES = 64 * 1024  # request line + headers, when uvicorn runs h11


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        lines = [
            f"  ZENPRO_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        ]
        sys.stderr.write("zenpro: invalid configuration\n" + "\n".join(lines) + "\n")
        raise SystemExit(2) from exc


def cmd_migrate(_: argparse.Namespace) -> int:
    from zenpro.kit.migrate import upgrade_sync

    upgrade_sync(_settings().database_url)
    sys.stdout.write("database is at the latest migration\n")
    return 0


async def _create_admin(
    settings: Settings, username: str, email: str | None, password: str | None, only_if_none: bool
) -> tuple[bool, str | None]:
    """Create a superuser. Returns (created, generated password or None)."""
    from sqlalchemy import func, select

    from zenpro.auth.passwords import hash_password
    from zenpro.kit.db import make_engine, make_sessionmaker
    from zenpro.models import User

    engine = make_engine(settings.database_url)
    generated = None
    try:
        async with make_sessionmaker(engine)() as db:
            if only_if_none and await db.scalar(select(User.id).where(User.is_superuser).limit(1)):
                return False, None
            same = func.lower(User.username) == username.lower()
            if await db.scalar(select(User.id).where(same)):
                raise SystemExit(f"zenpro: user {username!r} already exists")
            if password is None:
                generated = password = secrets.token_urlsafe(16)
            db.add(
                User(
                    username=username,
                    email=email,
                    email_verified=email is not None,
                    password_hash=await hash_password(password),
                    is_superuser=True,
                    metadata_={},
                )
            )
            await db.commit()
    finally:
        await engine.dispose()
    return True, generated


def cmd_create_admin(args: argparse.Namespace) -> int:
    password = args.password
    if password is None and sys.stdin.isatty() and not args.generate:
        password = getpass.getpass("Password (empty: generate one): ") or None
    if password is not None and not 8 <= len(password) <= 256:
        sys.stderr.write("zenpro: the password must have 8 to 256 characters\n")
        return 2
    _, generated = asyncio.run(
        _create_admin(_settings(), args.username, args.email, password, only_if_none=False)
    )
    sys.stdout.write(f"created superuser {args.username!r}\n")
    if generated:
        sys.stdout.write(f"generated password (shown once): {generated}\n")
    return 0


def ensure_admin(settings: Settings) -> None:
    """First start: make sure a superuser exists (``admin``)."""
    pw = settings.admin_password.get_secret_value() if settings.admin_password else None
    created, generated = asyncio.run(_create_admin(settings, "admin", None, pw, only_if_none=True))
    if created and generated:
        sys.stderr.write(
            "\n  zenpro: created superuser 'admin' with generated password (shown once):\n"
            f"    {generated}\n  Set ZENPRO_ADMIN_PASSWORD to choose it yourself.\n\n"
        )
    elif created:
        sys.stderr.write("zenpro: created superuser 'admin' from ZENPRO_ADMIN_PASSWORD\n")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    if args.migrate:
        from zenpro.kit.migrate import upgrade_sync

        upgrade_sync(settings.database_url)
        ensure_admin(settings)
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal against the
    # handler found at start: make that a clean exit (0), not "killed by SIGTERM" (-15).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "zenpro.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=False,  # X-Forwarded-For is handled by zenpro, for trusted proxies only
        server_header=False,
        access_log=False,
        timeout_graceful_shutdown=30,
        # The app refuses a request target over 32 KiB (414) and headers over 16 KiB (431)
        # itself, in the API's error shape (kit.request_limits); the server's own limit on
        # the whole request head stays above both, so the app's answer comes first. With
        # httptools (the default) the server refuses only a target over 64 KiB - 1 byte
        # (a bare 400) and bounds no header: docs/reliability.md, "Request size".
        h11_max_incomplete_event_size=SERVER_MAX_HEAD_BYTES,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zenpro", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--migrate",
        action="store_true",
        help="apply migrations and create the first admin before serving",
    )
    serve.set_defaults(func=cmd_serve)
    migrate = sub.add_parser("migrate", help="upgrade the database to the latest migration")
    migrate.set_defaults(func=cmd_migrate)
    admin = sub.add_parser("create-admin", help="create a superuser")
    admin.add_argument("--username", required=True)
    admin.add_argument("--email")
    admin.add_argument("--password", help="omit to be prompted, or to generate one")
    admin.add_argument("--generate", action="store_true", help="generate without prompting")
    admin.set_defaults(func=cmd_create_admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
