"""Which gateways this process can use, and which a workspace has enabled."""

from collections.abc import Iterable, Mapping

from gateways.base import Gateway

NO_GATEWAY = frozenset({"MANUAL", "COMP"})  # recorded by staff or at creation, no gateway


class GatewayRegistry:
    """The configured gateways by name (``SANDBOX``, ``STRIPE``, …)."""

    def __init__(self, gateways: Mapping[str, Gateway]) -> None:
        self._gateways = dict(gateways)

    def get(self, name: str) -> Gateway | None:
        return self._gateways.get(name.upper())

    def names(self) -> list[str]:
        return sorted(self._gateways)

    async def aclose(self) -> None:
        """Release what the gateways hold open (HTTP connection pools), at shutdown."""
        for gateway in self._gateways.values():
            close = getattr(gateway, "aclose", None)
            if close is not None:
                await close()

    def enabled_for(self, workspace_gateways: Iterable[str]) -> list[Gateway]:
        """Gateways both configured here and enabled by the workspace, in a stable order."""
        wanted = {name.upper() for name in workspace_gateways}
        return [self._gateways[name] for name in sorted(wanted & set(self._gateways))]
