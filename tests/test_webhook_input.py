"""What the webhook inbox stores: bounded records of rejected deliveries, and typed 400s
(never a 500) for bodies, headers and values PostgreSQL would refuse."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from models import WebhookEvent
from tests.helpers import GraphQLClient


async def _post(
    api: GraphQLClient, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await api.http.post(
        "/webhooks/sandbox",
        content=body,
        headers=api.sandbox.signed_headers(body) if headers is None else headers,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _early_event(**data: Any) -> dict[str, Any]:
    payment_id = str(uuid4())
    return {
        "id": f"evt_{uuid4().hex}",
        "type": "payment.succeeded",
        "data": {
            "reference": f"sbx_{payment_id}",
            "payment_id": payment_id,
            "status": "SUCCEEDED",
            "amount": 1500,
            "currency": "USD",
            **data,
        },
    }


def _stored_bytes(row: WebhookEvent) -> int:
    texts = (row.raw_body, row.excerpt, row.error or "", row.event_id, row.event_type)
    return sum(len(text.encode()) for text in texts)


async def test_an_unsigned_megabyte_is_stored_as_a_small_rejected_record(
    api: GraphQLClient,
) -> None:
    body = b'{"id": "evt_big", "padding": "' + b"x" * 999_000 + b'"}'

    response = await _post(api, body, {})

    assert response.status_code == 400
    assert response.json() == {"error": "invalid webhook", "code": "signature_missing"}
    row = await WebhookEvent.get()
    assert (row.verified, row.processed, row.error) == (False, False, "signature_missing")
    assert row.raw_body == ""
    assert row.body_size == len(body)
    assert row.excerpt == body[:256].decode()
    assert _stored_bytes(row) < 1024


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "evt_\x00nul", "type": "payment.succeeded"}',
        b'{"id": "evt_\xed\xa0\x80", "type": "payment.succeeded"}',
        b"\xff\xfe{}",
        b'{"id": "evt_\\ud800", "type": "payment.succeeded"}',
    ],
    ids=["nul-byte", "encoded-surrogate", "not-utf8", "escaped-surrogate"],
)
async def test_an_unsigned_body_with_unstorable_bytes_is_a_400_not_a_500(
    api: GraphQLClient, body: bytes
) -> None:
    response = await _post(api, body, {})

    assert response.status_code == 400
    assert response.json()["code"] in {"malformed_body", "signature_missing"}
    row = await WebhookEvent.get()
    assert not row.verified
    assert "\x00" not in row.excerpt
    assert row.excerpt.encode()  # valid UTF-8, storable anywhere


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "evt_" + "x" * 300}, "event_id"),
        ({"id": "evt_\x00"}, "event_id"),
        ({"id": "evt_\ud800"}, "event_id"),
        ({"type": "payment.succeeded" + "x" * 200}, "type"),
        ({"data": {"failure_code": "f" * 65}}, "failure_code"),
        ({"data": {"reference": "sbx_\udfff"}}, "reference"),
        ({"data": {"failure_message": "m\x00"}}, "failure_message"),
    ],
    ids=["long-id", "nul-id", "surrogate-id", "long-type", "long-code", "bad-ref", "nul-msg"],
)
async def test_a_signed_event_with_a_value_payql_cannot_store_is_rejected_with_its_field(
    api: GraphQLClient, change: dict[str, Any], field: str
) -> None:
    event = _early_event(**change.get("data", {}))
    top = {key: value for key, value in change.items() if key != "data"}
    body = json.dumps({**event, **top}).encode()  # "\x00" is sent as "\u0000"

    response = await _post(api, body)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid webhook", "code": "invalid_field", "field": field}
    row = await WebhookEvent.get()
    assert (row.verified, row.error, row.raw_body) == (False, f"invalid_field: {field}", "")
    assert row.event_id.startswith("rejected:")


async def test_a_signed_body_with_a_raw_nul_byte_is_rejected(api: GraphQLClient) -> None:
    body = json.dumps(_early_event()).encode()[:-1] + b', "x": "\x00"}'

    response = await _post(api, body)

    assert (response.status_code, response.json()["code"]) == (400, "malformed_body")
    assert not (await WebhookEvent.get()).verified


@pytest.mark.parametrize(
    "header",
    ["t=1,v1=\x00", "t=1,v1=" + "a" * 9000, "t=1,v1=\xe9\xe9"],
    ids=["nul", "long", "not-ascii"],
)
async def test_a_signature_header_that_is_not_short_ascii_is_a_400(
    api: GraphQLClient, header: str
) -> None:
    body = json.dumps(_early_event()).encode()
    signed = api.sandbox.signed_headers(body)
    timestamp = signed["Payql-Sandbox-Signature"].split(",")[0]
    value = header.replace("t=1", timestamp).encode("latin-1")

    response = await api.http.post(
        "/webhooks/sandbox", content=body, headers=[(b"Payql-Sandbox-Signature", value)]
    )

    assert (response.status_code, response.json()["code"]) == (400, "malformed_header")
    row = await WebhookEvent.get()
    assert (row.verified, row.error) == (False, "malformed_header")


async def test_a_waiting_event_is_due_again_after_the_first_backoff(api: GraphQLClient) -> None:
    body = json.dumps(_early_event()).encode()
    before = _now()

    assert (await _post(api, body)).json() == {"status": "pending"}

    row = await WebhookEvent.get()
    assert (row.attempts, row.verified, row.processed) == (1, True, False)
    assert row.next_attempt_at is not None
    assert before + timedelta(seconds=2) <= row.next_attempt_at <= _now() + timedelta(seconds=2)
