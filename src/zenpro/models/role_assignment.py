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
    the NULLs. Always build an assignment with ``grant``, which spells the key
    (``spell_scope``; organization_id is required: system roles are shared by every
    organization).
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
        Index("ix_role_assignments_role_created", "role_id", "created", "id"),  # a role's list
    )

    @classmethod
    def grant(
        cls,
        role_id: uuid.UUID,
        *,
        organization_id: uuid.UUID,
        user_id: uuid.UUID | None = None,
        team_id: uuid.UUID | None = None,
        invitation_id: uuid.UUID | None = None,
        workspace_id: uuid.UUID | None = None,
        project_id: uuid.UUID | None = None,
    ) -> RoleAssignment:
        """A new assignment with its ``scope_key`` (the one way to make one; ``.scope_key``
        of an unsaved one is the key to look an assignment up by)."""
        row = cls(
            role_id=role_id,
            organization_id=organization_id,
            user_id=user_id,
            team_id=team_id,
            invitation_id=invitation_id,
            workspace_id=workspace_id,
            project_id=project_id,
        )
        row.scope_key = row.spell_scope()
        return row

    def spell_scope(self) -> str:
        """``organization:role:subject:workspace:project`` (``-`` where there is none)."""
        subject = (
            f"u{self.user_id.hex}"
            if self.user_id
            else f"t{self.team_id.hex}"
            if self.team_id
            else f"i{self.invitation_id.hex}"
            if self.invitation_id
            else ""
        )
        ws = self.workspace_id.hex if self.workspace_id else "-"
        proj = self.project_id.hex if self.project_id else "-"
        return f"{self.organization_id.hex}:{self.role_id.hex}:{subject}:{ws}:{proj}"
