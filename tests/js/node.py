"""The node scripts beside this module, run by the tests against a live payql.

``npm ci --prefix tests/js`` installs their packages (pinned in ``package-lock.json``).
Without them, or without ``node``, the tests that need them skip, unless
``PAYQL_REQUIRE_NODE=1`` (set by ``.ci/run``) turns the skip into a failure.
"""

import asyncio
import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def node_executable() -> str:
    """The ``node`` to run the scripts with; skips the test (or fails it in CI) without one
    or without ``tests/js/node_modules``."""
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not (HERE / "node_modules").is_dir():
        reason = "tests/js/node_modules is missing (run `npm ci --prefix tests/js`)"
    if reason is not None:
        if os.environ.get("PAYQL_REQUIRE_NODE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    assert node is not None
    return node


async def start(script: str, *args: str, env: dict[str, str] | None = None) -> "Process":
    """Start ``node <script> <args>`` in this folder, its stdout and stderr piped."""
    process = await asyncio.create_subprocess_exec(
        node_executable(),
        str(HERE / script),
        *args,
        cwd=HERE,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Process(process)


class Process:
    """A running node script, read line by line; killed if it outlives its test."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, wait: float = 30) -> str:
        """The next line the script printed (empty at its end)."""
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), wait)
        return raw.decode()

    async def finish(self, wait: float = 60) -> tuple[int, str, str]:
        """Wait for the script to end: its exit code, the rest of its stdout, its stderr."""
        try:
            out, err = await asyncio.wait_for(self.process.communicate(), wait)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        code = self.process.returncode
        assert code is not None
        return code, out.decode(), err.decode()


async def run(script: str, *args: str, wait: float = 120) -> tuple[int, str, str]:
    """Run ``node <script> <args>`` to its end: exit code, stdout, stderr."""
    process = await start(script, *args)
    return await process.finish(wait)
