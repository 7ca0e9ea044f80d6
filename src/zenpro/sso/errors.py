"""Why a sign-in was refused: a short reason (logged and audited) and what to tell the user."""

from __future__ import annotations


class SSOError(Exception):
    """A refused single sign-on: ``reason`` is a stable code for logs and the audit
    trail, ``message`` the sentence the error page shows. Never carries a token."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.status = status
