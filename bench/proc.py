"""Reading another process from ``/proc`` (Linux), and running a bench job process."""

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (``payql serve --workers N``: the supervisor and
    its N workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as kids:
                    todo.extend(int(kid) for kid in kids.read().split())
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process and its live descendants have used."""
    total = 0
    for member in tree(pid):
        with suppress(OSError), open(f"/proc/{member}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def rss_bytes(pid: int) -> int:
    """The resident set size of the process and its live descendants."""
    total = 0
    for member in tree(pid):
        with suppress(OSError), open(f"/proc/{member}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    if not total:
        raise LookupError("no VmRSS")
    return total


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
