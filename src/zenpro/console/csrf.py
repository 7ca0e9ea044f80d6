"""The console's CSRF token, on every form besides the same-origin check of
``auth.deps`` (which refuses cross-origin cookie writes before any handler runs).

The token is an HMAC of a fixed label keyed with the session cookie itself: the cookie is
a random secret only the browser (HttpOnly) and this server see, so the token is unique to
the session, ends with it, needs no storage and no server-wide secret, and cannot be
derived by a page that cannot read the cookie. Revealing a token reveals nothing of the
cookie (HMAC is one-way).
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from zenpro.auth.deps import COOKIE_NAME
from zenpro.errors import Forbidden

FIELD = "csrf_token"
_LABEL = b"zenpro console form v1"


def token_for(cookie: str) -> str:
    return hmac.new(cookie.encode("utf-8"), _LABEL, hashlib.sha256).hexdigest()


def token(request: Request) -> str:
    """This browser session's token; empty without a session cookie (Bearer callers get
    pages, but their forms cannot be submitted: the console is for browsers)."""
    cookie = request.cookies.get(COOKIE_NAME)
    return token_for(cookie) if cookie else ""


def check(request: Request, sent: str | None) -> None:
    """A form post must carry this session's token (403 otherwise, nothing done)."""
    expected = token(request)
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden(
            "This form has expired or did not come from this console: reload the page and try again"
        )
