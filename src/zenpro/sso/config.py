"""``ZENPRO_OIDC_PROVIDERS``: the OpenID providers this server accepts sign-ins from.

Only pydantic here: ``zenpro.config`` imports it to validate the setting at start.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
DEFAULT_SCOPES = "openid email profile"


class ClaimNames(BaseModel):
    """Which ID-token claims carry the user's details (providers differ: Entra ID may put
    the address in ``preferred_username``, ``upn`` or ``email``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str = Field("email", min_length=1, description="Claim with the email address.")
    email_verified: str = Field(
        "email_verified", min_length=1, description="Claim saying the address is verified."
    )
    name: str = Field("name", min_length=1, description="Claim with the full name.")
    picture: str = Field("picture", min_length=1, description="Claim with an avatar URL.")


class OIDCProviderConfig(BaseModel):
    """One provider of ``ZENPRO_OIDC_PROVIDERS``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN, description="Short name in URLs: /auth/oidc/<key>/login.")
    name: str = Field(min_length=1, max_length=100, description="Shown: Sign in with <name>.")
    issuer: str = Field(description="The issuer URL (discovery at <issuer>/.well-known/…).")
    client_id: str = Field(min_length=1, description="The client id registered there.")
    client_secret: SecretStr | None = Field(None, description="Its secret.")
    client_secret_file: Path | None = Field(None, description="A file holding the secret.")
    scopes: str = Field(DEFAULT_SCOPES, description="Scopes requested (must contain openid).")
    allowed_domains: list[str] | None = Field(
        None, description="Only verified emails of these domains may sign in."
    )
    trust_email_domain: bool = Field(
        False, description="Accept invitations to the user's verified email at sign-in."
    )
    claims: ClaimNames = Field(default_factory=ClaimNames)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError(f"issuer {v!r} must be an http(s) URL")
        return v.rstrip("/")

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, v: str) -> str:
        if "openid" not in v.split():
            raise ValueError(f"scopes {v!r} must include openid")
        return " ".join(v.split())

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        domains = [d.strip().lower().lstrip("@") for d in v]
        if not domains or any(not d or "@" in d or " " in d for d in domains):
            raise ValueError("allowed_domains must be a non-empty list of domains")
        return domains

    @model_validator(mode="after")
    def _one_secret(self) -> OIDCProviderConfig:
        if (self.client_secret is None) == (self.client_secret_file is None):
            raise ValueError(
                f"provider {self.key!r}: give exactly one of client_secret and client_secret_file"
            )
        if self.client_secret_file is not None:
            try:
                secret = self.client_secret_file.read_text("utf-8").strip()
            except OSError as exc:
                raise ValueError(
                    f"provider {self.key!r}: cannot read client_secret_file "
                    f"{str(self.client_secret_file)!r}: {exc.strerror}"
                ) from exc
            if not secret:
                raise ValueError(f"provider {self.key!r}: client_secret_file is empty")
            object.__setattr__(self, "client_secret", SecretStr(secret))
        return self

    @property
    def secret(self) -> str:
        assert self.client_secret is not None  # set by _one_secret
        return self.client_secret.get_secret_value()

    def allows(self, email: str) -> bool:
        if self.allowed_domains is None:
            return True
        return email.rsplit("@", 1)[-1].lower() in self.allowed_domains


def unique_keys(providers: list[OIDCProviderConfig]) -> list[OIDCProviderConfig]:
    keys = [p.key for p in providers]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"ZENPRO_OIDC_PROVIDERS: the key {dupes[0]!r} is used twice")
    return providers
