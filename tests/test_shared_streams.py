"""Identical ``workspaceEvents`` subscriptions share one execution (app/shared_streams.py).

Over real websockets against uvicorn; the broker's subscriber count shows how many
executions are listening (one per group).
"""

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedError

from app.shared_streams import (
    MAX_BACKLOG,
    TOO_SLOW,
    Group,
    Member,
    SharedStreams,
    SharingTransportWSHandler,
    _Ended,
    shared_root_field,
)
from events.broker import current_broker
from models import Membership, Product, Workspace
from schema.documents import DocumentCache
from tests.helpers import (
    CREATE_ORDER,
    LiveServer,
    make_product,
    make_staff,
    make_workspace,
    order_input,
    wait_subscribed,
)
from tests.ws import LEGACY_WS, GraphQLWebSocket, graphql_ws

BUYER = "ann@example.com"
EVENTS = """
subscription W($id: ID!) { workspaceEvents(workspaceId: $id) { id type toStatus } }
"""


async def _next(ws: GraphQLWebSocket, op_id: str) -> dict[str, Any]:
    kind, mid, payload = await ws.next_event()
    assert (kind, mid) == ("next", op_id), payload
    return payload["data"]["workspaceEvents"]  # type: ignore[no-any-return]


async def _shop(live: LiveServer) -> tuple[Workspace, Product, str]:
    """A workspace with a product and a staff member (clerk@example.com): their token."""
    shop = await make_workspace()
    product = await make_product(shop, price=900)
    staff = await make_staff("clerk@example.com", shop)
    return shop, product, live.client.token(staff.email)


async def _idle(topic: str, wait: float = 5.0) -> None:
    """Wait until nobody listens on ``topic`` any more."""
    for _ in range(int(wait / 0.01)):
        if current_broker().subscriber_count(topic) == 0:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still subscribed to {topic}")


async def test_identical_dashboards_share_one_execution_and_each_gets_every_event(
    live: LiveServer,
) -> None:
    client = live.client
    shop, product, token = await _shop(live)
    topic = f"workspace:{shop.id}"

    async with graphql_ws(live.ws_url) as one, graphql_ws(live.ws_url) as two:
        await one.init(token)
        await two.init(token)
        await one.subscribe("a", EVENTS, {"id": str(shop.id)})
        await two.subscribe("b", EVENTS, {"id": str(shop.id)})
        await two.subscribe("c", EVENTS, {"id": str(shop.id)})  # twice on one connection
        await wait_subscribed(topic)
        await asyncio.sleep(0.2)
        assert current_broker().subscriber_count(topic) == 1  # type: ignore[attr-defined]

        await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        first = await _next(one, "a")
        got = {
            mid: payload["data"]["workspaceEvents"]
            for _, mid, payload in [await two.next_event(), await two.next_event()]
        }
        assert first["type"] == "order.created"
        assert got == {"b": first, "c": first}

        await one.stop("a")  # the member that started the execution leaves
        await client(CREATE_ORDER, order_input(shop, (product, 2)), as_user=BUYER)
        later = {
            mid: payload["data"]["workspaceEvents"]
            for _, mid, payload in [await two.next_event(), await two.next_event()]
        }
        assert later["b"] == later["c"]
        assert later["b"]["type"] == "order.created"
        assert int(later["b"]["id"]) > int(first["id"])

        await two.stop("b")
        await two.stop("c")
        await _idle(topic)  # the last member left: the execution stopped


async def test_a_dashboard_that_joins_later_gets_events_from_then_on(live: LiveServer) -> None:
    client = live.client
    shop, product, token = await _shop(live)

    async with graphql_ws(live.ws_url) as early:
        await early.init(token)
        await early.subscribe("e", EVENTS, {"id": str(shop.id)})
        await wait_subscribed(f"workspace:{shop.id}")
        await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        before = await _next(early, "e")

        async with graphql_ws(live.ws_url) as late:
            await late.init(token)
            await late.subscribe("l", EVENTS, {"id": str(shop.id)})
            await asyncio.sleep(0.3)
            await client(CREATE_ORDER, order_input(shop, (product, 3)), as_user=BUYER)
            after = await _next(late, "l")
            assert await _next(early, "e") == after

    assert after["type"] == "order.created"
    assert int(after["id"]) > int(before["id"])  # no replay of what came before


async def test_a_revoked_staff_member_does_not_join_the_running_group(live: LiveServer) -> None:
    client = live.client
    shop = await make_workspace()
    product = await make_product(shop, price=900)
    staff = await make_staff("clerk@example.com", shop)
    other = await make_staff("boss@example.com", shop)
    topic = f"workspace:{shop.id}"

    async with graphql_ws(live.ws_url) as first, graphql_ws(live.ws_url) as boss:
        await first.init(client.token(staff.email))
        await first.subscribe("1", EVENTS, {"id": str(shop.id)})
        await boss.init(client.token(other.email))
        await boss.subscribe("2", EVENTS, {"id": str(shop.id)})
        await wait_subscribed(topic, 2)  # another actor: a group of its own

        await Membership.filter(user_id=staff.id).delete()
        async with graphql_ws(live.ws_url) as again:
            await again.init(client.token(staff.email))
            await again.subscribe("3", EVENTS, {"id": str(shop.id)})
            received = await again.collect("3")
        codes = [
            e["extensions"]["code"] for kind, p in received for e in (p or {}).get("errors", [])
        ]
        assert codes == ["NOT_FOUND"]

        await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        assert (await _next(boss, "2"))["type"] == "order.created"


async def test_an_invalid_document_is_answered_to_every_subscriber(live: LiveServer) -> None:
    client = live.client
    shop = await make_workspace()
    staff = await make_staff("clerk@example.com", shop)
    bad = f'subscription {{ workspaceEvents(workspaceId: "{shop.id}") {{ nope }} }}'

    async with graphql_ws(live.ws_url) as one, graphql_ws(live.ws_url) as two:
        for ws, op_id in ((one, "x"), (two, "y")):
            await ws.init(client.token(staff.email))
            await ws.subscribe(op_id, bad)
        answers = [await one.next_event(), await two.next_event()]

    assert [(kind, op_id) for kind, op_id, _ in answers] == [("error", "x"), ("error", "y")]
    assert all("nope" in str(payload) for _, _, payload in answers)


async def test_legacy_protocol_subscribers_keep_their_own_execution(live: LiveServer) -> None:
    client = live.client
    shop, product, token = await _shop(live)

    async with graphql_ws(live.ws_url, LEGACY_WS) as one, graphql_ws(live.ws_url, LEGACY_WS) as two:
        for ws in (one, two):
            await ws.init(token)
            await ws.subscribe("l", EVENTS, {"id": str(shop.id)})
        await wait_subscribed(f"workspace:{shop.id}", 2)
        await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        assert (await _next(one, "l")) == (await _next(two, "l"))


# ------------------------------------------------------------------ slow subscribers
class _Socket:
    """A websocket whose sends wait while ``gate`` is closed (the client's socket is full)."""

    def __init__(self, *, open_: bool = True) -> None:
        self.gate = asyncio.Event()
        if open_:
            self.gate.set()
        self.sent: list[str] = []
        self.closed: list[int] = []
        self.ws = self

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed.append(code)


def _member(group: Group, socket: _Socket, op_id: str) -> Member:
    handler: Any = SimpleNamespace(websocket=socket)
    member = Member(handler, SimpleNamespace(id=op_id), group)  # type: ignore[arg-type]
    group.members.add(member)
    return member


def _frame(op_id: str, n: object) -> str:
    return f'{{"id":"{op_id}","type":"next","payload":{{"n":{n}}}}}'


async def test_a_write_that_has_to_wait_keeps_the_order_of_later_frames() -> None:
    group = Group(SharedStreams(), ("key",))
    full = _Socket(open_=False)
    member = _member(group, full, "m")

    for n in range(3):
        group._broadcast(f'{{"n":{n}}}')
    assert member.writer is not None  # the first write waits in a task, the rest behind it
    assert full.sent == []

    full.gate.set()
    await asyncio.sleep(0.01)
    assert full.sent == [_frame("m", n) for n in range(3)]
    assert member.writer is None
    group._broadcast('{"n":3}')  # written straight away again, no task
    assert member.writer is None
    assert full.sent[-1] == _frame("m", 3)


async def test_a_subscriber_too_far_behind_is_disconnected_and_the_others_still_served() -> None:
    group = Group(SharedStreams(), ("key",))
    stuck, fine = _Socket(open_=False), _Socket()
    slow, fast = _member(group, stuck, "s"), _member(group, fine, "f")

    for n in range(MAX_BACKLOG + 1):  # the first write waits, the rest queue behind it
        group._broadcast(f'{{"n":{n}}}')
    assert slow in group.members
    assert stuck.closed == []
    assert fast.writer is None  # every frame went straight out

    group._broadcast('{"n":"last"}')
    await asyncio.sleep(0.05)

    assert group.members == {fast}
    assert stuck.closed == [TOO_SLOW]
    assert slow.writer is None  # its waiting write was cancelled
    assert stuck.sent == []
    assert len(fine.sent) == MAX_BACKLOG + 2
    assert fine.sent[-1] == _frame("f", '"last"')


async def test_a_late_completion_does_not_drop_the_member_that_reuses_its_id() -> None:
    """The group of an old subscription ends after the client completed it and subscribed
    again with the same id: the new member must stay registered, or the client's next
    ``complete`` would not stop it."""
    group = Group(SharedStreams(), ("key",))
    handler = SharingTransportWSHandler.__new__(SharingTransportWSHandler)
    old, new = _member(group, _Socket(), "X"), _member(group, _Socket(), "X")
    handler.members = {"X": new}

    await handler.end_member(old, _Ended())

    assert handler.members == {"X": new}


async def test_a_subscribe_that_cannot_be_keyed_is_still_answered(live: LiveServer) -> None:
    client = live.client
    shop = await make_workspace()
    staff = await make_staff("clerk@example.com", shop)

    async with graphql_ws(live.ws_url) as ws:
        await ws.init(client.token(staff.email))
        await ws.send({"id": "q", "type": "subscribe", "payload": {"query": ["not", "text"]}})
        kind, op_id, _ = await ws.next_event(wait=5)

    assert op_id == "q"
    assert kind in ("error", "complete")


async def test_shared_documents_obey_the_token_limit(live: LiveServer) -> None:
    client = live.client
    shop = await make_workspace()
    staff = await make_staff("clerk@example.com", shop)
    fields = " ".join(["id"] * client.settings.max_tokens)
    huge = f'subscription {{ workspaceEvents(workspaceId: "{shop.id}") {{ {fields} }} }}'

    async with graphql_ws(live.ws_url) as ws:
        await ws.init(client.token(staff.email))
        await ws.subscribe("h", huge)
        # The protocol's answer to a document that does not parse: close with 4400.
        with pytest.raises(ConnectionClosedError) as closed:
            await ws.next_event(wait=5)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    assert "more than 3000 tokens" in closed.value.rcvd.reason


def _within(tokens: int) -> DocumentCache:
    return DocumentCache(max_length=100_000, max_tokens=tokens, max_bytes=1_000_000)


def test_the_sharing_check_parses_within_the_token_limit() -> None:
    doc = 'subscription { workspaceEvents(workspaceId: "w") { id type toStatus } }'
    assert shared_root_field(doc, None, _within(100)) == "workspaceEvents"
    assert shared_root_field(doc, None, _within(10)) is None  # not parsed past the limit
    assert (
        shared_root_field("subscription { paymentStatus(paymentId: 1) { id } }", None, _within(100))
        is None
    )
