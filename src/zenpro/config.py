"""One Settings object, read from the environment (prefix ``ZENPRO_``) and ``.env``.

Validated at start: a bad value stops the process with a message that names the variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zenpro.sso.config import OIDCProviderConfig, unique_keys

DEFAULT_SQLITE_PATH = Path("data") / "zenpro.db"
# A ZenML release as pip spells it (0.98.0, 0.99.0rc1, 0.98.0.post1): the local provisioner
# installs zenml[server]==<it>, so nothing else may ride along in the version.
ZENML_RELEASE = re.compile(r"[0-9]+(\.[0-9]+){1,3}((a|b|rc|\.post|\.dev)[0-9]+)?")


class Settings(BaseSettings):
    """All configuration of a zenpro process. See the README for each variable."""

    model_config = SettingsConfigDict(
        env_prefix="ZENPRO_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production", "test"] = Field(
        "development", description="`production` refuses insecure settings."
    )
    database_url: str = Field(
        f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
    )
    redis_url: str | None = Field(None, description="redis://host:port/db; optional")
    base_url: str = Field(
        "http://127.0.0.1:8080", description="Public URL of this server, used in links."
    )
    cookie_secure: bool | None = Field(
        None, description="Secure flag on cookies; default: true when base_url is https."
    )
    session_idle_minutes: int = Field(60, ge=1, description="Idle expiry of browser sessions.")
    session_absolute_hours: int = Field(12, ge=1, description="Absolute browser session expiry.")
    token_lifetime_minutes: int = Field(
        60, ge=6, description="Lifetime of API/device access tokens (expires_in)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Peers (IPs or CIDRs) whose X-Forwarded-For is believed.",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Request body size cap.")
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    admin_password: SecretStr | None = Field(
        None, description="Password of the `admin` user created on first start."
    )
    db_pool_size: int = Field(
        20, ge=1, description="Database connections per process (no overflow)."
    )
    db_pool_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for a free connection before a 503."
    )
    password_hash_concurrency: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) // 2),
        ge=1,
        description="Argon2 hashes that may run at once (threads; 19 MiB each); "
        "default: half the CPU cores, at least one.",
    )
    # Organizations / workspaces
    max_owned_organizations: int | None = Field(
        None, ge=0, description="How many organizations one user may own; unset = no limit."
    )
    invitation_days: int = Field(7, ge=1, description="Invitation lifetime in days.")
    workspace_url_template: str = Field(
        "http://{name}.workspaces.localhost",
        description="URL of simulated (managed) workspaces; {name} and {id} are filled in.",
    )
    zenml_version: str = Field(
        "0.98.0",
        description="ZenML version of workspaces: reported, and the zenml[server] the local "
        "provisioner runs.",
    )
    workspace_page_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="How long the console's workspace page waits for a workspace's ZenML "
        "server (the sign-in exchange and the reads together) before it says the server is "
        "not answering.",
    )
    reconcile_interval_seconds: float = Field(2.0, gt=0)
    reconciler_enabled: bool = True
    # Managed workspaces (issue 17; docs/provisioners.md, README "Managed workspaces")
    workspace_provisioner: Literal["simulated", "local", "external"] = Field(
        "simulated",
        description="What runs managed workspaces: `simulated` (nothing; available at once at "
        "workspace_url_template), `local` (a ZenML server per workspace, a child process on "
        "this host) or `external` (nothing: every new workspace is enrolled).",
    )
    local_data_dir: Path = Field(
        Path("data") / "local-workspaces",
        description="Local provisioner: one directory per workspace (SQLite, logs, lock).",
    )
    local_zenml_venv: Path | None = Field(
        None,
        description="Local provisioner: virtualenv with zenml[server]==<zenml_version>, created "
        "once when missing; default <local_data_dir>/venvs/zenml-<zenml_version>.",
    )
    local_max_servers: int = Field(
        5, ge=0, description="Local provisioner: how many ZenML servers may run (409 beyond)."
    )
    local_restart_backoff_seconds: float = Field(
        2.0, gt=0, description="Local provisioner: wait before the first restart; doubles."
    )
    local_restart_backoff_max_seconds: float = Field(
        60.0, gt=0, description="Local provisioner: the longest wait between restarts."
    )
    local_max_failures: int = Field(
        5, ge=1, description="Local provisioner: failures in a row before a workspace is failed."
    )
    local_delete_grace_seconds: float = Field(
        86400.0, ge=0, description="Local provisioner: a deleted workspace's data is kept so long."
    )
    cors_origins: list[str] = Field(default_factory=list)
    opentelemetry: bool = Field(
        False,
        description="Turn on FastAPI's native OpenTelemetry hooks (traces, metrics, logs to a "
        "configured provider). Off by default: zenpro exports Prometheus metrics itself, and "
        "the hooks cost a few percent of every request.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token that GET /metrics requires (at least 16 characters); "
        "unset: /metrics is open to anyone who reaches the port.",
    )
    # Programmatic access (issue 5)
    device_code_minutes: int = Field(10, ge=1, description="Lifetime of a device-flow code.")
    device_interval_seconds: int = Field(
        5, ge=1, description="How often the CLI may poll during the device flow."
    )
    entitlement_limits: dict[str, int] = Field(
        default_factory=dict,
        description='Per-organization limits, JSON {"feature": max} (e.g. {"pipeline": 100}); '
        "a feature at its limit answers 402.",
    )
    # Single sign-on (issue 15; README "Single sign-on")
    oidc_providers: list[OIDCProviderConfig] = Field(
        default_factory=list,
        description="OpenID providers, JSON list of {key, name, issuer, client_id, "
        "client_secret | client_secret_file, scopes, allowed_domains, trust_email_domain, "
        "claims}.",
    )
    password_login: bool = Field(
        True,
        description="Sign-in with a local password; when false only superusers may (break-glass).",
    )
    # Rate limiting (docs/ratelimit.md). Limits use the `limits` notation ("600/minute",
    # "10 per 5 minutes"), checked at start. Storage: memory, or Redis when redis_url is set.
    ratelimit_enabled: bool = Field(True, description="Turn rate limiting on or off.")
    ratelimit_default: str = Field(
        "600/minute", description="Users and API keys: per principal per route."
    )
    ratelimit_anonymous: str = Field("120/minute", description="Anonymous calls: per client IP.")
    ratelimit_login_ip: str = Field(
        "20/minute", description="Login and device authorization: per client IP."
    )
    ratelimit_login_account: str = Field(
        "10/minute", description="Login and device authorization: per target account."
    )
    ratelimit_machine: str = Field(
        "6000/minute", description="Workspace machine tokens: per workspace per route."
    )
    ratelimit_fail_closed: bool = Field(
        False, description="On a Redis outage answer 503 instead of serving unlimited."
    )
    ratelimit_storage_timeout: float = Field(
        0.5, gt=0, description="Seconds a Redis rate-limit call may take before it counts as down."
    )

    @field_validator("admin_password")
    @classmethod
    def _admin_password(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or v.get_secret_value() == "":
            return None  # empty means unset: a password is generated
        if not 8 <= len(v.get_secret_value()) <= 256:
            raise ValueError("ZENPRO_ADMIN_PASSWORD must have 8 to 256 characters")
        return v

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or v.get_secret_value() == "":
            return None  # empty means unset: /metrics is open
        if len(v.get_secret_value()) < 16:
            # /metrics is not rate limited: a short token could be guessed.
            raise ValueError(
                "ZENPRO_METRICS_TOKEN must have at least 16 characters, e.g. "
                "the output of `openssl rand -hex 32`"
            )
        return v

    @field_validator("oidc_providers")
    @classmethod
    def _providers(cls, v: list[OIDCProviderConfig]) -> list[OIDCProviderConfig]:
        return unique_keys(v)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, v: str) -> str:
        if v.startswith("postgresql://") or v.startswith("postgres://"):
            return "postgresql+asyncpg://" + v.split("://", 1)[1]
        if v.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + v.split(":///", 1)[1]
        if not (v.startswith("postgresql+asyncpg://") or v.startswith("sqlite+aiosqlite://")):
            raise ValueError(
                "ZENPRO_DATABASE_URL must start with postgresql+asyncpg:// or sqlite+aiosqlite://"
            )
        return v

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("ZENPRO_BASE_URL must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"ZENPRO_TRUSTED_PROXIES: {item!r} is not an IP or CIDR") from exc
        return v

    @model_validator(mode="after")
    def _someone_can_sign_in(self) -> Settings:
        if not self.password_login and not self.oidc_providers:
            raise ValueError(
                "ZENPRO_PASSWORD_LOGIN=false needs at least one ZENPRO_OIDC_PROVIDERS entry: "
                "without one, nobody but superusers could sign in"
            )
        return self

    @model_validator(mode="after")
    def _local_provisioner(self) -> Settings:
        if self.workspace_provisioner != "local":
            return self
        problems = []
        if os.name != "posix":
            problems.append("it needs a POSIX system (process groups, file locks)")
        if not ZENML_RELEASE.fullmatch(self.zenml_version):
            problems.append(
                f"ZENPRO_ZENML_VERSION must be a ZenML release such as 0.98.0 (it names the "
                f"package zenml[server]==<version>), not {self.zenml_version!r}"
            )
        if self.local_restart_backoff_max_seconds < self.local_restart_backoff_seconds:
            problems.append(
                "ZENPRO_LOCAL_RESTART_BACKOFF_MAX_SECONDS must not be below "
                "ZENPRO_LOCAL_RESTART_BACKOFF_SECONDS"
            )
        if problems:
            raise ValueError("ZENPRO_WORKSPACE_PROVISIONER=local: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        if not self.base_url.startswith("https://"):
            problems.append("ZENPRO_BASE_URL must be https")
        if self.cookie_secure is False:
            problems.append("ZENPRO_COOKIE_SECURE must not be false")
        if self.is_sqlite:
            problems.append("ZENPRO_DATABASE_URL must be PostgreSQL")
        problems += [
            f"ZENPRO_OIDC_PROVIDERS: the issuer of {p.key!r} must be https"
            for p in self.oidc_providers
            if not p.issuer.startswith("https://")
        ]
        if problems:
            raise ValueError("insecure settings for ZENPRO_ENV=production: " + "; ".join(problems))
        return self

    def oidc_provider(self, key: str) -> OIDCProviderConfig | None:
        return next((p for p in self.oidc_providers if p.key == key), None)

    @property
    def local_venv(self) -> Path:
        """The virtualenv the local provisioner runs ZenML servers from."""
        default = self.local_data_dir / "venvs" / f"zenml-{self.zenml_version}"
        return (self.local_zenml_venv or default).absolute()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")

    @property
    def trusted_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests clear the cache to change them."""
    return Settings()
