"""The local provisioner: an unmodified ZenML server per managed workspace, as a child
process of zenpro on 127.0.0.1 (docs/provisioners.md, README "Managed workspaces").

- ``files``: one workspace's directory (lock, record, log rotation and tail, JWT key);
- ``processes``: processes known by pid and start time; stopping them; ports;
- ``supervisor``: one server's life (start, adopt, ready, crash, backoff, failed);
- ``server``: the ZenML side (virtualenv, command, environment, probe);
- ``provisioner``: the ``Provisioner`` on top (locks, credentials, the sweep).
"""

from zenpro.workspaces.local.files import log_tail
from zenpro.workspaces.local.provisioner import LocalProvisioner

__all__ = ["LocalProvisioner", "log_tail"]
