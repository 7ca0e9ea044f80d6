"""Run wrk against one endpoint and parse what it prints."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int
    requests: int = 0  # completed in the run
    seconds: float = 0.0  # the run's length as wrk measured it


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and could not be installed (apt-get install wrk)")
    return found


# Bodies whose "{uuid}" placeholders get fresh random UUIDs on every request: each thread
# seeds its own generator (wrk threads have separate Lua states).
_FRESH = """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0) * 7919)
end
local hex = "0123456789abcdef"
local function uuid()
  local t = {}
  for i = 1, 30 do
    local r = math.random(1, 16)
    t[i] = hex:sub(r, r)
  end
  local s = table.concat(t)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-4" .. s:sub(13, 15) .. "-8" .. s:sub(16, 18)
    .. "-" .. s:sub(19, 30)
end
request = function()
  local body = template and (template:gsub("{uuid}", uuid)) or nil
  local path = path_template and (path_template:gsub("{uuid}", uuid)) or nil
  return wrk.format(nil, path, nil, body)
end
"""

# what wrk is given in place of "{uuid}" in a URL (the script puts fresh ones in each request)
_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def _lua(method: str, headers: dict[str, str], body: str | None, path: str | None = None) -> str:
    lines = [f'wrk.method = "{method}"']
    for k, v in headers.items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    fresh = path is not None and "{uuid}" in path
    if body is not None and "{uuid}" in body:
        lines.append(f"template = {json.dumps(body)}")
        fresh = True
    elif body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    if path is not None and "{uuid}" in path:
        lines.append(f"path_template = {json.dumps(path)}")
    if fresh:
        lines.append(_FRESH)
    return "\n".join(lines) + "\n"


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    return float(m[1]) * _UNITS[m[2]]


def run(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    duration: int = 10,
    threads: int = 2,
    connections: int = 32,
) -> Result:
    """``url`` and ``body`` may hold "{uuid}": each request gets fresh random ones."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_lua(method, headers or {}, body, path if "{uuid}" in path else None))
        script = fh.name
    url = url.replace("{uuid}", _PLACEHOLDER)
    try:
        out = subprocess.run(
            [
                ensure_wrk(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration}s",
                "--latency",
                "-s",
                script,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script).unlink(missing_ok=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out)[1])  # type: ignore[index]
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(
        r"Socket errors:.*?connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return Result(
        rps=rps,
        p50_ms=p50,
        p99_ms=p99,
        non_2xx=int(non2xx[1]) if non2xx else 0,
        errors=sum(int(x) for x in errors.groups()) if errors else 0,
        requests=int(done[1]) if done else 0,
        seconds=float(done[2]) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done[3]]
        if done
        else 0.0,
    )
