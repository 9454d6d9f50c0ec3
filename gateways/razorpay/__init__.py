"""RAZORPAY: Orders API and Standard Checkout over httpx (see ``gateways.razorpay.gateway``)."""

from gateways.razorpay.gateway import RazorpayGateway

__all__ = ["RazorpayGateway"]
