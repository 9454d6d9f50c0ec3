"""FLUTTERWAVE: v3 hosted checkout, refunds and webhooks (see ``gateways.flutterwave.gateway``)."""

from gateways.flutterwave.gateway import FlutterwaveGateway

__all__ = ["FlutterwaveGateway"]
