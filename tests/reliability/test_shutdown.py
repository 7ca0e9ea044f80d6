"""Graceful shutdown of a real ``zenpro serve``: SIGTERM while slow requests are in flight.

The slow requests are real ones: password logins, which hash with Argon2 in a bounded
thread pool (one hash at a time here), so a burst of them queues for seconds.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time

import httpx

from tests.fixtures.waiting import eventually
from tests.reliability.servers import ADMIN_PASSWORD, logged_in_server

BURST = 40


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


async def test_sigterm_lets_in_flight_requests_finish() -> None:
    with logged_in_server(ZENPRO_PASSWORD_HASH_CONCURRENCY="1") as server:
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
            form = {"username": "admin", "password": ADMIN_PASSWORD}
            burst = [asyncio.create_task(http.post("/auth/login", data=form)) for _ in range(BURST)]
            # One hash at a time: SIGTERM once the first login is back, while most
            # of the burst is still queued in the server.
            await eventually(lambda: any(t.done() for t in burst), seconds=30)
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            pending_at_signal = sum(not t.done() for t in burst)
            refused = False
            while not refused and time.monotonic() - started < 10:
                refused = await asyncio.to_thread(_refused, server.port)
                await asyncio.sleep(0.05)
            assert pending_at_signal > BURST // 2, "the burst was not slow"
            responses = await asyncio.gather(*burst)
            assert [r.status_code for r in responses] == [200] * BURST
            assert all(r.json()["access_token"] for r in responses)
            code = await asyncio.to_thread(server.proc.wait, 40)
        assert refused, "new connections were still accepted after SIGTERM"
        assert code == 0, server.output()
        assert time.monotonic() - started < 30
        assert "Traceback" not in server.output()
