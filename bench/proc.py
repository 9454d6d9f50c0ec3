"""Reading another process from ``/proc`` (Linux), and running a bench job process."""

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    """The process's resident set size."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise LookupError("no VmRSS")


def run_loop(main: Coroutine[Any, Any, Any]) -> Any:
    """Run ``main`` on uvloop, the event loop ``payql serve`` uses."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        return asyncio.run(main)
    return uvloop.run(main)


def serve_job(work: Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]) -> None:
    """A job process: one JSON job on stdin, ``work(job)``'s JSON answer on stdout."""
    job = json.loads(sys.stdin.read())
    json.dump(run_loop(work(job)), sys.stdout)
