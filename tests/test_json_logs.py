"""``PAYQL_LOG_FORMAT``: JSON lines for payql's and uvicorn's loggers (access log included,
with the request id, operation, status and duration), a timestamped text line otherwise;
never a token, and values cut short in both."""

import json
import logging
import re
from pathlib import Path

import httpx
import pytest

from app.auth import issue_token
from app.logs import (
    MAX_VALUE_CHARS,
    configure_logging,
    formatter,
    public_path,
    uvicorn_log_config,
)
from app.settings import Settings
from tests.conftest import SECRET
from tests.test_metrics import sqlite_file, uvicorn_workers

__all__ = ["sqlite_file"]  # the fixture, shared with the metrics tests

KEYS = {"timestamp", "level", "logger", "message", "request_id", "operation"}
TIMESTAMPED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) \S+ \[")


def _lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


async def _traffic(base: str, token: str) -> None:
    """A named query with a token, an unsigned webhook, a sandbox page with its ticket."""
    async with httpx.AsyncClient(base_url=base) as http:
        answer = await http.post(
            "/graphql?debug=" + "q" * 10,
            json={"query": "query Probe { __typename }", "operationName": "Probe"},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "probe-1"},
        )
        assert answer.json()["data"] == {"__typename": "Query"}
        refused = await http.post("/webhooks/sandbox", content=b"{}")
        assert refused.status_code == 400
        await http.get("/sandbox/checkout/secret-ticket-value")


async def test_json_logs_are_one_object_per_line_with_the_request_facts(
    sqlite_file: str, tmp_path: Path
) -> None:
    log = tmp_path / "json.log"
    token = issue_token(Settings(PAYQL_JWT_SECRET=SECRET), email="ann@example.com")
    async with uvicorn_workers(sqlite_file, log, workers=2, log_format="json") as base:
        await _traffic(base, token)

    records = [json.loads(line) for line in _lines(log)]  # every line is JSON
    assert all(record.keys() >= KEYS for record in records)
    loggers = {record["logger"] for record in records}
    assert {"uvicorn.error", "uvicorn.access", "payql.webhooks"} <= loggers
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    query = next(r for r in access if r["path"] == "/graphql")
    assert query["request_id"] == "probe-1"
    assert query["operation"] == "Probe"
    assert (query["method"], query["status"]) == ("POST", 200)
    assert isinstance(query["duration_ms"], float)
    assert query["duration_ms"] >= 0
    webhook = next(r for r in access if r["path"] == "/webhooks/sandbox")
    assert (webhook["status"], webhook["operation"]) == (400, None)
    rejected = next(r for r in records if r["logger"] == "payql.webhooks")
    assert rejected["level"] == "WARNING"
    assert rejected["request_id"] == webhook["request_id"] != "-"
    text = log.read_text()
    assert token not in text
    assert "secret-ticket-value" not in text
    assert "debug=" not in text


async def test_text_logs_carry_a_timestamp_on_every_line(sqlite_file: str, tmp_path: Path) -> None:
    log = tmp_path / "text.log"
    token = issue_token(Settings(PAYQL_JWT_SECRET=SECRET), email="ann@example.com")
    async with uvicorn_workers(sqlite_file, log, workers=1, log_format="text") as base:
        await _traffic(base, token)

    lines = _lines(log)
    assert all(TIMESTAMPED.match(line) for line in lines), lines
    assert any("uvicorn.access [probe-1]" in line and '"POST /graphql' in line for line in lines)
    assert token not in log.read_text()
    assert "secret-ticket-value" not in log.read_text()


def test_long_values_are_cut_in_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    try:
        logger = logging.getLogger("payql.tests")
        logger.warning("value: %s", "v" * 50_000)
        try:
            raise ValueError("x" * 50_000)
        except ValueError:
            logger.exception("failed")
    finally:
        configure_logging("text")

    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert len(first["message"]) < MAX_VALUE_CHARS + 50
    assert first["message"].endswith("(50000 chars)")
    assert max(len(line) for line in second["exception"].splitlines()) < MAX_VALUE_CHARS + 50


def test_the_configured_format_holds_until_changed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    try:
        configure_logging()  # as each app built in the process does
        logging.getLogger("payql.tests").info("still json")
    finally:
        configure_logging("text")

    assert json.loads(capsys.readouterr().err)["message"] == "still json"


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/graphql?token=abc", "/graphql"),
        ("/sandbox/checkout/eyJ.abc", "/sandbox/checkout/…"),
        ("/sandbox/3ds/eyJ.abc?x=1", "/sandbox/3ds/…"),
        ("/payments/return/paystack?reference=r", "/payments/return/paystack"),
    ],
)
def test_access_lines_show_public_paths(path: str, shown: str) -> None:
    assert public_path(path) == shown


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        uvicorn_log_config("yaml")
    with pytest.raises(ValueError, match="unknown log format"):
        formatter("xml")


def test_the_setting_accepts_text_and_json_only() -> None:
    assert Settings(PAYQL_LOG_FORMAT="json").log_format == "json"
    with pytest.raises(ValueError, match="PAYQL_LOG_FORMAT"):
        Settings(PAYQL_LOG_FORMAT="yaml")
