"""The webhook inbox for staff, through the real API: ``webhookEvents``,
``unmatchedWebhookEvents`` and ``replayWebhookEvent``, with tenants as walls."""

import json
from collections.abc import Mapping
from typing import Any

from models import PaymentEvent, Workspace
from models.enums import Role
from models.records import WebhookEvent
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)

BUYER = "ann@example.com"
STAFF = "sam@acme.example"
OTHER_STAFF = "oscar@other.example"
ADMIN = "root@payql.example"

EVENTS = """
query Events($workspaceId: ID!, $first: Int, $after: String, $filter: WebhookEventFilter) {
  webhookEvents(workspaceId: $workspaceId, first: $first, after: $after, filter: $filter) {
    nodes { id gateway type verified processed error attempts receivedAt processedAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""
UNMATCHED = """
query Unmatched($filter: WebhookEventFilter) {
  unmatchedWebhookEvents(filter: $filter) { nodes { id gateway verified processed error } }
}
"""
REPLAY = """
mutation Replay($input: ReplayWebhookEventInput!) {
  replayWebhookEvent(input: $input) {
    outcome
    webhookEvent { id processed error }
    errors { code message field }
  }
}
"""
PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id status } errors { code } }
}
"""
PAYMENT = "query P($id: ID!) { payment(id: $id) { status } }"


class KeptWebhooks:
    """A webhook sender that keeps what it is given (the delivery never arrives)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.bodies.append(body)


async def _shops() -> tuple[Workspace, Workspace]:
    shop = await make_workspace("acme")
    other = await make_workspace("other")
    await make_staff(STAFF, shop)
    await make_staff(OTHER_STAFF, other, Role.OWNER)
    return shop, other


async def _pay(api: GraphQLClient, shop: Workspace, method: str = "pm_card_visa") -> str:
    product = await make_product(shop, price=1500)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    pay = {
        "orderId": created.data["createOrder"]["order"]["id"],
        "gateway": "SANDBOX",
        "paymentMethodToken": method,
    }
    answer = await api(PAY, {"input": pay}, as_user=BUYER)
    assert answer.data["initiatePayment"]["errors"] == []
    return str(answer.data["initiatePayment"]["payment"]["id"])


async def _events(
    api: GraphQLClient, shop: Workspace, as_user: str, *, admin: bool = False, **args: Any
) -> Any:
    variables = {"workspaceId": str(shop.id), **args}
    return await api(EVENTS, variables, as_user=as_user, admin=admin)


async def _replay(api: GraphQLClient, event_id: str, **who: Any) -> dict[str, Any]:
    answer = await api(REPLAY, {"input": {"webhookEventId": event_id}}, **who)
    return answer.data["replayWebhookEvent"]  # type: ignore[no-any-return]


async def _given_up_delivery(api: GraphQLClient, shop: Workspace) -> tuple[str, WebhookEvent]:
    """A payment whose succeeded webhook is stored, verified, and was given up on by the
    retry job (as if it had arrived before its payment, 20 times)."""
    kept = KeptWebhooks()
    api.sandbox.sender = kept
    payment_id = await _pay(api, shop)
    await api.sandbox.drain()
    [body] = kept.bodies
    event = json.loads(body)
    row = await WebhookEvent.create(
        gateway="SANDBOX",
        event_id=event["id"],
        event_type=event["type"],
        raw_body=body.decode(),
        body_size=len(body),
        verified=True,
        processed=False,
        attempts=20,
        error="not found yet: SANDBOX payment",
    )
    return payment_id, row


# ---------------------------------------------------------------------------- listing
async def test_staff_see_their_workspaces_deliveries(api: GraphQLClient) -> None:
    shop, _ = await _shops()
    await _pay(api, shop)
    await _pay(api, shop, "pm_card_chargeDeclinedExpiredCard")
    await api.sandbox.drain()

    listed = (await _events(api, shop, STAFF)).data["webhookEvents"]

    assert [(n["type"], n["gateway"]) for n in listed["nodes"]] == [
        ("payment.failed", "SANDBOX"),
        ("payment.succeeded", "SANDBOX"),
    ]
    newest = listed["nodes"][0]
    assert (newest["verified"], newest["processed"], newest["error"]) == (True, True, None)
    assert newest["attempts"] == 1
    assert newest["receivedAt"]
    assert newest["processedAt"]
    assert listed["pageInfo"]["hasNextPage"] is False


async def test_pages_and_filters(api: GraphQLClient) -> None:
    shop, _ = await _shops()
    for method in ("pm_card_visa", "pm_card_amex", "tok_chargeDeclined"):
        await _pay(api, shop, method)
    await api.sandbox.drain()

    first = (await _events(api, shop, STAFF, first=2)).data["webhookEvents"]
    rest = await _events(api, shop, STAFF, first=2, after=first["pageInfo"]["endCursor"])
    succeeded = await _events(api, shop, STAFF, filter={"type": "payment.succeeded"})
    waiting = await _events(api, shop, STAFF, filter={"processed": False, "gateway": "SANDBOX"})
    unverified = await _events(api, shop, STAFF, filter={"verified": False})

    assert len(first["nodes"]) == 2
    assert first["pageInfo"]["hasNextPage"] is True
    assert len(rest.data["webhookEvents"]["nodes"]) == 1
    seen = [n["id"] for n in first["nodes"] + rest.data["webhookEvents"]["nodes"]]
    assert len(set(seen)) == 3
    assert len(succeeded.data["webhookEvents"]["nodes"]) == 2
    assert waiting.data["webhookEvents"]["nodes"] == []
    assert unverified.data["webhookEvents"]["nodes"] == []


async def test_nobody_else_sees_a_workspaces_deliveries(api: GraphQLClient) -> None:
    shop, other = await _shops()
    await _pay(api, shop)
    await api.sandbox.drain()

    theirs = await _events(api, shop, OTHER_STAFF)
    customer = await _events(api, shop, BUYER)
    anonymous = await api(EVENTS, {"workspaceId": str(shop.id)})
    made_up = await api(
        EVENTS, {"workspaceId": "00000000-0000-0000-0000-000000000000"}, as_user=STAFF
    )
    own = await _events(api, other, OTHER_STAFF)
    admin = await _events(api, shop, ADMIN, admin=True)

    assert theirs.error_codes == ["FORBIDDEN"]
    assert theirs.body["data"] is None
    assert customer.error_codes == ["FORBIDDEN"]
    assert anonymous.error_codes == ["UNAUTHENTICATED"]
    assert made_up.error_codes == ["FORBIDDEN"]  # a workspace that does not exist: the same
    assert own.data["webhookEvents"]["nodes"] == []
    assert len(admin.data["webhookEvents"]["nodes"]) == 1


async def test_rejected_deliveries_are_for_admins_only(api: GraphQLClient) -> None:
    shop, _ = await _shops()
    refused = await api.http.post("/webhooks/sandbox", content=b'{"id":"evt_forged"}')

    staff_list = await _events(api, shop, STAFF, filter={"verified": False})
    staff_unmatched = await api(UNMATCHED, as_user=STAFF)
    customer_unmatched = await api(UNMATCHED, as_user=BUYER)
    anonymous_unmatched = await api(UNMATCHED)
    admin_unmatched = await api(
        UNMATCHED, {"filter": {"verified": False}}, as_user=ADMIN, admin=True
    )

    assert refused.status_code == 400
    assert staff_list.data["webhookEvents"]["nodes"] == []
    assert staff_unmatched.error_codes == ["FORBIDDEN"]
    assert customer_unmatched.error_codes == ["FORBIDDEN"]
    assert anonymous_unmatched.error_codes == ["UNAUTHENTICATED"]
    [rejected] = admin_unmatched.data["unmatchedWebhookEvents"]["nodes"]
    assert (rejected["verified"], rejected["processed"]) == (False, False)
    assert rejected["error"] == "signature_missing"


async def test_bad_arguments_are_typed_errors(api: GraphQLClient) -> None:
    shop, _ = await _shops()

    big = await _events(api, shop, STAFF, first=101)
    cursor = await _events(api, shop, STAFF, after="not-a-cursor")
    malformed = await api(EVENTS, {"workspaceId": "nope"}, as_user=STAFF)
    nul = await _events(api, shop, STAFF, filter={"type": "a\x00b"})

    assert big.error_codes == ["BAD_USER_INPUT"]
    assert cursor.error_codes == ["BAD_USER_INPUT"]
    assert malformed.error_codes == ["BAD_USER_INPUT"]
    assert nul.error_codes == ["INVALID_INPUT"]


# ---------------------------------------------------------------------------- replay
async def test_a_given_up_delivery_replayed_pays_and_a_second_replay_changes_nothing(
    api: GraphQLClient,
) -> None:
    shop, _ = await _shops()
    payment_id, row = await _given_up_delivery(api, shop)
    before = await api(PAYMENT, {"id": payment_id}, as_user=BUYER)
    staff_first = await _replay(api, str(row.id), as_user=STAFF)  # matches no workspace yet

    replayed = await _replay(api, str(row.id), as_user=ADMIN, admin=True)
    events = await PaymentEvent.filter(payment_id=payment_id).count()
    again = await _replay(api, str(row.id), as_user=STAFF)

    assert before.data["payment"]["status"] == "PROCESSING"
    assert [e["code"] for e in staff_first["errors"]] == ["NOT_FOUND"]
    assert replayed["errors"] == []
    assert replayed["outcome"] == "PROCESSED"
    assert replayed["webhookEvent"] == {"id": str(row.id), "processed": True, "error": None}
    after = await api(PAYMENT, {"id": payment_id}, as_user=BUYER)
    assert after.data["payment"]["status"] == "SUCCEEDED"
    assert again["errors"] == []
    assert again["outcome"] == "ALREADY_PROCESSED"
    assert await PaymentEvent.filter(payment_id=payment_id).count() == events
    listed = (await _events(api, shop, STAFF)).data["webhookEvents"]["nodes"]
    assert [n["id"] for n in listed] == [str(row.id)]  # now the workspace's


async def test_replay_is_walled_by_workspace(api: GraphQLClient) -> None:
    shop, _ = await _shops()
    await _pay(api, shop)
    await api.sandbox.drain()
    row = await WebhookEvent.get(workspace_id=shop.id)

    theirs = await _replay(api, str(row.id), as_user=OTHER_STAFF)
    customer = await _replay(api, str(row.id), as_user=BUYER)
    anonymous = await api(REPLAY, {"input": {"webhookEventId": str(row.id)}})
    own = await _replay(api, str(row.id), as_user=STAFF)

    not_found = [
        {
            "code": "NOT_FOUND",
            "message": "no such webhook delivery",
            "field": ["input", "webhookEventId"],
        }
    ]
    assert theirs["errors"] == not_found
    assert customer["errors"] == not_found
    assert anonymous.error_codes == ["UNAUTHENTICATED"]
    assert own["errors"] == []
    assert own["outcome"] == "ALREADY_PROCESSED"


async def test_a_rejected_delivery_cannot_be_replayed(api: GraphQLClient) -> None:
    await api.http.post("/webhooks/sandbox", content=b"{}")
    rejected = await WebhookEvent.get(verified=False)

    answer = await _replay(api, str(rejected.id), as_user=ADMIN, admin=True)
    malformed = await _replay(api, "not-an-id", as_user=ADMIN, admin=True)
    unknown = await _replay(api, "00000000-0000-0000-0000-000000000000", as_user=ADMIN, admin=True)

    assert [e["code"] for e in answer["errors"]] == ["VALIDATION"]
    assert answer["outcome"] is None
    assert [e["code"] for e in malformed["errors"]] == ["INVALID_ID"]
    assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"]


async def test_a_delivery_still_unmatched_stays_pending(api: GraphQLClient) -> None:
    body = json.dumps(
        {
            "id": "evt_orphan",
            "type": "payment.succeeded",
            "data": {
                "reference": "sbx_nobody",
                "payment_id": None,
                "status": "SUCCEEDED",
                "amount": 100,
                "currency": "USD",
            },
        }
    ).encode()
    stored = await api.http.post(
        "/webhooks/sandbox", content=body, headers=api.sandbox.signed_headers(body)
    )
    row = await WebhookEvent.get(event_id="evt_orphan")

    answer = await _replay(api, str(row.id), as_user=ADMIN, admin=True)

    assert stored.json() == {"status": "pending"}
    assert answer["outcome"] == "PENDING"
    assert answer["webhookEvent"]["processed"] is False
    assert (await WebhookEvent.get(id=row.id)).attempts == 2
