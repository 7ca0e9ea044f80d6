"""A stand-in for a Pro-mode ZenML server, for the local provisioner's supervision tests.

It takes the environment the provisioner builds for ZenML and answers ``/api/v1/info``
like the real server (``id`` = the workspace id) plus what the tests check: the names of
its environment variables, the Pro URLs, the hash of its client secret and when its data
directory was first written. ``--mode``: ``ok``; ``crash`` (prints, exits 3 at once);
``hang`` (listens, answers 503). ``--tag`` only marks the process for the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if args.mode == "crash":
        print("standin: boom, cannot start", flush=True)
        sys.exit(3)
    data = Path(os.environ["ZENML_CONFIG_PATH"]) / "created"
    if not data.exists():
        data.write_text(str(time.time()))
    secret = os.environ["ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET"]
    info = {
        "id": os.environ["ZENML_SERVER_PRO_WORKSPACE_ID"],
        "version": "0.98.0",
        "deployment_type": "cloud",
        "pro_api_url": os.environ["ZENML_SERVER_PRO_API_URL"],
        "dashboard_url": os.environ["ZENML_SERVER_PRO_DASHBOARD_URL"]
        + "/workspaces/"
        + os.environ["ZENML_SERVER_PRO_WORKSPACE_NAME"],
        "server_url": os.environ["ZENML_SERVER_SERVER_URL"],
        "key_sha256": hashlib.sha256(secret.encode()).hexdigest(),
        "env": sorted(os.environ),
        "data_created": data.read_text(),
        "pid": os.getpid(),
    }
    body = json.dumps(info).encode()
    status = 503 if args.mode == "hang" else 200

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/api/v1/info" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    print(f"standin: listening on port {args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
