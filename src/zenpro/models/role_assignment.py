from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, utcnow


class RoleAssignment(IdMixin, Base):
    """A role given to exactly one of a user, a team or an invitation, at one scope.

    ``scope_key`` makes "no duplicate assignment" a constraint: it spells the organization,
    role, subject and scope, so two equal assignments collide on the unique index whatever
    the NULLs. Always build it with ``make_scope_key`` (organization_id is required: system
    roles are shared by every organization).
    """

    __tablename__ = "role_assignments"

    role_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    project_id: Mapped[uuid.UUID | None]
    scope_key: Mapped[str] = mapped_column(String(200), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN team_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN invitation_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_subject",
        ),
        Index("ix_role_assignments_user_id", "user_id", "organization_id"),
        Index("ix_role_assignments_team_id", "team_id"),
        Index("ix_role_assignments_invitation_id", "invitation_id"),
        Index("ix_role_assignments_organization_id", "organization_id"),
        Index("ix_role_assignments_workspace_id", "workspace_id"),
        Index("ix_role_assignments_role_id", "role_id"),
    )

    @staticmethod
    def make_scope_key(
        role_id: uuid.UUID,
        *,
        organization_id: uuid.UUID,
        user_id: uuid.UUID | None = None,
        team_id: uuid.UUID | None = None,
        invitation_id: uuid.UUID | None = None,
        workspace_id: uuid.UUID | None = None,
        project_id: uuid.UUID | None = None,
    ) -> str:
        subject = (
            f"u{user_id.hex}"
            if user_id
            else f"t{team_id.hex}"
            if team_id
            else f"i{invitation_id.hex}"
            if invitation_id
            else ""
        )
        ws = workspace_id.hex if workspace_id else "-"
        proj = project_id.hex if project_id else "-"
        return f"{organization_id.hex}:{role_id.hex}:{subject}:{ws}:{proj}"
