"""STRIPE: PaymentIntents through the official async SDK (see ``gateways.stripe.gateway``)."""

from gateways.stripe.gateway import StripeGateway

__all__ = ["StripeGateway"]
