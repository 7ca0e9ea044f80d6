"""The process launcher the real-process tests share: readiness, failure reports, stopping."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import NotReady, base_env, free_port, running, start, stop

# Ignores SIGTERM, so only the kill after the timeout ends it.
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"


def _python(code: str, tmp_path: Path, new_session: bool = False) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", code]
    return start(cmd, env=base_env(tmp_path), cwd=tmp_path, log=None, new_session=new_session)


def test_a_process_that_exits_early_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    code = "import sys; print('the reason it failed'); sys.exit(3)"
    with (
        pytest.raises(NotReady, match=r"(?s)exited with 3.*the reason it failed"),
        running(
            [sys.executable, "-c", code],
            env=base_env(tmp_path),
            cwd=tmp_path,
            log=log,
            ready_url=f"http://127.0.0.1:{free_port()}/",
            what="the stub",
        ),
    ):
        pass


def test_ready_once_the_url_answers(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    env, url = base_env(tmp_path), f"http://127.0.0.1:{port}/"
    with running(cmd, env=env, cwd=tmp_path, log=None, ready_url=url, what="http.server") as proc:
        assert proc.poll() is None
    assert proc.poll() is not None  # stopped on the way out


@pytest.mark.parametrize("new_session", [False, True], ids=["same-session", "new-session"])
def test_stop_kills_what_ignores_sigterm(tmp_path: Path, new_session: bool) -> None:
    proc = _python(STUBBORN, tmp_path, new_session=new_session)
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    stop(proc, timeout=0.5)
    assert proc.returncode == -9
    assert time.monotonic() - started < 5


def test_stop_leaves_an_ended_process_alone(tmp_path: Path) -> None:
    proc = _python("pass", tmp_path)
    proc.wait(10)
    stop(proc)
    assert proc.returncode == 0
