"""How invitees hear about invitations. zenpro sends no email itself: plug a Notifier
into ``app.state.notifier`` (e.g. one that sends mail); the default only logs."""

from __future__ import annotations

import logging
from typing import Protocol

from fastapi import Request

from zenpro.invitations.schemas import InvitationRead

log = logging.getLogger("zenpro.invitations")


class Notifier(Protocol):
    async def invitation_created(self, invitation: InvitationRead) -> None: ...


class LogNotifier:
    """Logs that an invitation exists (the link is no secret: accepting needs a login)."""

    async def invitation_created(self, invitation: InvitationRead) -> None:
        log.info(
            "invitation created",
            extra={"invitation_id": str(invitation.id), "invite_link": invitation.invite_link},
        )


async def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = getattr(request.app.state, "notifier", None) or LogNotifier()
    return notifier
