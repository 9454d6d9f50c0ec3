"""``POST /webhooks/{gateway}``: the one door every gateway's webhooks come through."""

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.upkeep import upkeep_from_settings
from gateways.base import InvalidWebhook
from gateways.registry import GatewayRegistry
from resolvers.webhook_input import InvalidWebhookField, RejectionBudget
from resolvers.webhooks import RetryPolicy, receive_webhook


async def webhook(request: Request) -> JSONResponse:
    """Store, verify and apply a delivery. 400 (with the reason's ``code``, and the
    ``field`` a value could not be stored from) on a bad signature, header or body; 200
    otherwise, so the gateway stops retrying what payql has safely stored."""
    registry: GatewayRegistry = request.app.state.gateways
    gateway = registry.get(request.path_params["gateway"])
    if gateway is None:
        return JSONResponse({"error": "unknown or disabled gateway"}, status_code=404)
    body = await request.body()
    inbox = _inbox(request)
    try:
        receipt = await receive_webhook(
            gateway=gateway,
            body=body,
            headers=dict(request.headers),
            now=datetime.now(UTC),
            retry=inbox.retry,
            rejections=inbox.rejections,
        )
    except InvalidWebhook as exc:
        answer = {"error": "invalid webhook", "code": exc.code}
        if isinstance(exc, InvalidWebhookField):
            answer["field"] = exc.field
        return JSONResponse(answer, status_code=400)
    return JSONResponse({"status": receipt.value})


@dataclass(frozen=True, slots=True)
class _Inbox:
    retry: RetryPolicy
    rejections: RejectionBudget


def _inbox(request: Request) -> _Inbox:
    """The app's retry policy and rejection budget, built from its settings once."""
    state = request.app.state
    inbox: _Inbox | None = getattr(state, "webhook_inbox", None)
    if inbox is None:
        upkeep = upkeep_from_settings(state.settings)
        inbox = state.webhook_inbox = _Inbox(
            upkeep.retry, RejectionBudget(upkeep.rejected_per_minute)
        )
    return inbox
