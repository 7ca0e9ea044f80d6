"""Configuration of single sign-on and Must show 4 of issue 15 (password sign-in turned
off), in process on both databases: the form and the password grant refuse clearly,
superusers keep the break-glass path, API keys still work."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.fixtures.factories import PASSWORD, bearer, make_user, token_for
from tests.support.apps import cleaning_client, make_settings, started
from tests.support.processes import ROOT, base_env, zenpro_command
from zenpro.auth.service import SSO_ONLY
from zenpro.config import Settings

PROVIDER = {
    "key": "acme",
    "name": "Acme ID",
    "issuer": "https://id.acme.example.com",
    "client_id": "zenpro",
    "client_secret": "s3cret",
}


@pytest.fixture(scope="module")
async def sso_only_app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, password_login=False, oidc_providers=[PROVIDER])
    async with started(settings) as application:
        yield application


@pytest.fixture
async def sso_only(sso_only_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with cleaning_client(sso_only_app) as c:
        yield c


async def test_the_login_page_offers_sso_and_folds_the_form_away(
    sso_only: httpx.AsyncClient,
) -> None:
    r = await sso_only.get("/login", params={"next": "/devices/verify?user_code=AB"})
    assert r.status_code == 200
    assert "Sign in with Acme ID" in r.text
    assert 'href="/auth/oidc/acme/login?next=%2Fdevices%2Fverify%3Fuser_code%3DAB"' in r.text
    assert "<details><summary>Administrator sign-in" in r.text
    r = await sso_only.get("/api/v1/login")
    assert 'href="/api/v1/auth/oidc/acme/login?next=%2Fconsole"' in r.text  # the default


async def test_the_password_grant_and_form_refuse_clearly(
    sso_only_app: FastAPI, sso_only: httpx.AsyncClient
) -> None:
    async with sso_only_app.state.sessionmaker() as db:
        await make_user(db, "pat")
    r = await sso_only.post("/auth/login", data={"username": "pat", "password": PASSWORD})
    assert r.status_code == 401
    assert SSO_ONLY in r.text
    wrong = await sso_only.post("/auth/login", data={"username": "pat", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == r.json()["detail"]  # the same answer: nothing revealed
    form = await sso_only.post("/login", data={"username": "pat", "password": PASSWORD})
    assert form.status_code == 401
    assert "Password sign-in is turned off" in form.text
    assert "zenpro_session" not in form.cookies


async def test_break_glass_superuser_and_api_keys_still_work(
    sso_only_app: FastAPI, sso_only: httpx.AsyncClient
) -> None:
    async with sso_only_app.state.sessionmaker() as db:
        await make_user(db, "root", superuser=True)
        pat = await make_user(db, "pat")
        pat_token = await token_for(db, pat)
    r = await sso_only.post("/auth/login", data={"username": "root", "password": PASSWORD})
    assert r.status_code == 200, r.text
    key = await sso_only.post("/users/me/api_keys", json={"name": "ci"}, headers=bearer(pat_token))
    assert key.status_code == 201, key.text
    exchanged = await sso_only.post("/auth/login", data={"password": key.json()["key"]})
    assert exchanged.status_code == 200, exchanged.text
    me = await sso_only.get("/users/me", headers=bearer(exchanged.json()["access_token"]))
    assert me.json()["username"] == "pat"
    assert me.json()["oauth_provider"] is None


async def test_an_unknown_provider_is_a_page(sso_only: httpx.AsyncClient) -> None:
    r = await sso_only.get("/auth/oidc/nope/login")
    assert r.status_code == 404
    assert "No sign-in provider &#x27;nope&#x27; is configured" in r.text
    assert "Back to sign-in" in r.text


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"client_secret": None}, "exactly one of client_secret and client_secret_file"),
        ({"scopes": "email profile"}, "must include openid"),
        ({"issuer": "id.acme.example.com"}, "must be an http(s) URL"),
        ({"key": "Bad Key"}, "String should match pattern"),
        ({"allowed_domains": []}, "non-empty list of domains"),
        ({"client_secret": None, "client_secret_file": "/nonexistent/s"}, "cannot read"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_provider_setting_stops_the_start_naming_it(
    tmp_path: Path, change: dict[str, object], says: str
) -> None:
    provider = {k: v for k, v in {**PROVIDER, **change}.items() if v is not None}
    env = {
        **base_env(tmp_path),
        "ZENPRO_HOME": str(ROOT),
        "ZENPRO_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "ZENPRO_OIDC_PROVIDERS": json.dumps([provider]),
    }
    done = subprocess.run(
        [*zenpro_command(), "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "ZENPRO_OIDC_PROVIDERS" in done.stderr
    assert says in done.stderr


def test_password_login_off_needs_a_provider() -> None:
    with pytest.raises(ValueError, match="ZENPRO_PASSWORD_LOGIN=false needs at least one"):
        Settings(password_login=False)
    assert Settings(password_login=False, oidc_providers=[PROVIDER]).password_login is False  # type: ignore[list-item]


def test_settings_refuse_duplicate_keys_and_plain_http_in_production(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the key 'acme' is used twice"):
        Settings(oidc_providers=[PROVIDER, PROVIDER])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="the issuer of 'acme' must be https"):
        Settings(
            env="production",
            base_url="https://zenpro.example.com",
            database_url="postgresql://x@localhost/x",
            oidc_providers=[{**PROVIDER, "issuer": "http://id.example.com"}],  # type: ignore[list-item]
        )
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    filed = {**PROVIDER, "client_secret_file": str(secret)}
    del filed["client_secret"]
    parsed = Settings(oidc_providers=[filed])  # type: ignore[list-item]
    assert parsed.oidc_providers[0].secret == "from-a-file"
    assert parsed.oidc_providers[0].scopes == "openid email profile"
    assert "from-a-file" not in repr(parsed)
