"""The audit trail: every state change, written in the transaction of the change.

``hooks`` records ORM flushes and bulk statements centrally (no service calls it);
``endpoints`` serves the trail to organization admins/viewers and to superusers.
"""

from zenpro.audit.hooks import install

__all__ = ["install"]
