"""A real OpenID provider (npm ``oidc-provider``, OpenID Certified) beside a real
``zenpro serve``, on both databases, and headless Chromium to sign in through both.

The provider is ``tests/sso/idp/server.mjs``, installed from the committed lock file with
``npm ci`` (``make`` does it). Two zenpro provider configurations point at it with two
clients: ``acme`` (only ``acme.example.com`` addresses) and ``corp`` (any domain, trusting its
users' addresses for invitations); a third, ``down``, points at a closed port.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import browser as browser
from tests.browser.conftest import chromium_path as chromium_path
from tests.fixtures.db import fresh_postgres
from tests.fixtures.services import need
from tests.support.browser import closing, open_page
from tests.support.processes import ROOT, ZenproServer, free_port, running, zenpro_serve

IDP_DIR = ROOT / "tests" / "sso" / "idp"
ADMIN_PASSWORD = "sso-test-Pa55word"
CLIENTS = [
    {"key": "acme", "client_id": "zenpro-acme", "client_secret": "acme-secret-0123456789"},
    {"key": "corp", "client_id": "zenpro-corp", "client_secret": "corp-secret-0123456789"},
]
PROVIDER_NAMES = {"acme": "Acme ID", "corp": "Corp SSO", "down": "Offline IdP"}


def node() -> str:
    found = shutil.which("node")
    if found is None or not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        msg = (
            "the test OpenID provider needs Node.js 20+ and `npm ci` in tests/sso/idp "
            "(`make` runs it)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " (CI=true: SSO tests may not be skipped)")
        pytest.skip(msg)
    return found


@dataclass
class Idp:
    """The running provider; ``restart`` replaces it with a fresh one (new signing key)."""

    port: int
    zenpro_url: str
    workdir: Path
    stack: Any = field(default=None, repr=False)
    restarts: int = 0
    sub_only: bool = False  # ID tokens without email: zenpro must ask UserInfo

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "PORT": str(self.port),
            "ZENPRO_URL": self.zenpro_url,
            "CLIENTS": json.dumps(CLIENTS),
            "NODE_ENV": "test",
            "ID_TOKEN_SUB_ONLY": "1" if self.sub_only else "0",
        }

    @contextmanager
    def run(self) -> Iterator[None]:
        with running(
            [node(), "server.mjs"],
            env=self.env(),
            cwd=IDP_DIR,
            log=self.workdir / f"idp-{self.restarts}.log",
            ready_url=f"{self.url}/.well-known/openid-configuration",
            what="test OpenID provider",
            ready=lambda status: status == 200,
        ):
            yield

    def tamper(self, mode: str) -> None:
        r = httpx.post(f"{self.url}/__test/tamper", params={"mode": mode}, timeout=10)
        assert r.status_code == 204, r.text

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/__test/stats", timeout=10).json()
        return data


def providers_env(idp_url: str) -> str:
    acme, corp = CLIENTS
    return json.dumps(
        [
            {
                "key": "acme",
                "name": PROVIDER_NAMES["acme"],
                "issuer": idp_url,
                "client_id": acme["client_id"],
                "client_secret": acme["client_secret"],
                "allowed_domains": ["acme.example.com"],
            },
            {
                "key": "corp",
                "name": PROVIDER_NAMES["corp"],
                "issuer": idp_url,
                "client_id": corp["client_id"],
                "client_secret": corp["client_secret"],
                "trust_email_domain": True,
            },
            {
                "key": "down",
                "name": PROVIDER_NAMES["down"],
                "issuer": f"http://127.0.0.1:{free_port()}",
                "client_id": "nobody",
                "client_secret": "nothing",
            },
        ]
    )


@dataclass
class Stack:
    zenpro: ZenproServer
    idp: Idp
    backend: str

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.zenpro.url,
            headers={"Authorization": f"Bearer {self.zenpro.token}"},
            timeout=30,
        )

    def restart_idp(self, *, sub_only: bool = False) -> None:
        """A new provider process: a new signing key, which zenpro has never seen."""
        self.idp.stack.close()
        self.idp.sub_only = sub_only
        self.idp.restarts += 1
        self.idp.stack = _enter(self.idp)


def _enter(idp: Idp) -> Any:
    from contextlib import ExitStack

    stack = ExitStack()
    stack.enter_context(idp.run())
    return stack


def _database(backend: str) -> str | None:
    if backend == "postgres":
        need("postgres")
        # In a thread of its own: Playwright's sync API keeps an event loop running here.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, fresh_postgres(suffix="_sso")).result()
    return None  # a SQLite file in the server's own directory


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    node()
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"sso-{backend}")
    idp_port = free_port()
    env = {
        "ZENPRO_ENV": "development",
        "ZENPRO_RECONCILER_ENABLED": "false",
        "ZENPRO_LOG_LEVEL": "INFO",
        "ZENPRO_RATELIMIT_ENABLED": "false",
        "ZENPRO_OIDC_PROVIDERS": providers_env(f"http://127.0.0.1:{idp_port}"),
    }
    with zenpro_serve(
        tmp_path_factory.mktemp(f"zenpro-{backend}"),
        database_url=_database(backend),
        env=env,
        admin_password=ADMIN_PASSWORD,
        login=True,
    ) as server:
        idp = Idp(idp_port, server.url, workdir)
        idp.stack = _enter(idp)
        try:
            yield Stack(server, idp, backend)
        finally:
            idp.stack.close()


def new_page(browser: Browser, stack: Stack) -> Page:
    """A fresh browser (no cookies) that may reach zenpro and the provider only (e.g. not
    the provider's web font: no traffic off 127.0.0.1)."""
    return open_page(browser, stack.zenpro.url, stack.idp.url)


@pytest.fixture
def page(browser: Browser, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from closing(new_page(browser, stack), request.node)
