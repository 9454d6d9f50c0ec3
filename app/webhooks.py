"""``POST /webhooks/{gateway}``: the one door every gateway's webhooks come through."""

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateways.base import InvalidWebhook
from gateways.registry import GatewayRegistry
from resolvers.webhooks import receive_webhook


async def webhook(request: Request) -> JSONResponse:
    """Store, verify and apply a delivery. 400 on a bad signature; 200 otherwise, so the
    gateway stops retrying what payql has safely stored."""
    registry: GatewayRegistry = request.app.state.gateways
    gateway = registry.get(request.path_params["gateway"])
    if gateway is None:
        return JSONResponse({"error": "unknown or disabled gateway"}, status_code=404)
    body = await request.body()
    try:
        receipt = await receive_webhook(
            gateway=gateway, body=body, headers=dict(request.headers), now=datetime.now(UTC)
        )
    except InvalidWebhook as exc:
        return JSONResponse({"error": "invalid webhook", "code": exc.code}, status_code=400)
    return JSONResponse({"status": receipt.value})
