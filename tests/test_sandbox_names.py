"""The sandbox takes Stripe's documented test payment-method and token names, through the real
API, and ends each payment as Stripe's test mode does."""

from typing import Any

import pytest

from gateways.sandbox.cards import BRANDS, DECLINES, SUCCEEDING
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_workspace, order_input

BUYER = "ann@example.com"

PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status }
    errors { code message field }
  }
}
"""
PAYMENT = """
query Order($id: ID!) {
  order(id: $id) { status payments { status failureCode failureMessage } }
}
"""

# Stripe's testing page, "Declined payments": the card's name and the failure it reports.
STRIPE_DECLINES = {
    "pm_card_chargeDeclined": "card_declined",
    "pm_card_visa_chargeDeclined": "card_declined",
    "tok_chargeDeclined": "card_declined",
    "tok_visa_chargeDeclined": "card_declined",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "tok_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "tok_visa_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclinedExpiredCard": "expired_card",
    "tok_chargeDeclinedExpiredCard": "expired_card",
    "pm_card_chargeDeclinedIncorrectCvc": "incorrect_cvc",
    "tok_chargeDeclinedIncorrectCvc": "incorrect_cvc",
    "pm_card_chargeDeclinedProcessingError": "processing_error",
    "tok_chargeDeclinedProcessingError": "processing_error",
    "pm_card_visa_chargeDeclinedLostCard": "lost_card",
    "tok_visa_chargeDeclinedLostCard": "lost_card",
    "pm_card_chargeDeclinedLostCard": "lost_card",
    "pm_card_visa_chargeDeclinedStolenCard": "stolen_card",
    "tok_visa_chargeDeclinedStolenCard": "stolen_card",
    "pm_card_chargeDeclinedStolenCard": "stolen_card",
    "pm_card_visa_chargeDeclinedFraudulent": "fraudulent",
    "pm_card_visa_chargeDeclinedVelocityLimitExceeded": "card_velocity_exceeded",
}
STRIPE_BRANDS = [
    "pm_card_visa",
    "pm_card_visa_debit",
    "pm_card_mastercard",
    "pm_card_mastercard_debit",
    "pm_card_mastercard_prepaid",
    "pm_card_amex",
    "pm_card_discover",
    "pm_card_diners",
    "pm_card_jcb",
    "pm_card_unionpay",
    "tok_visa",
    "tok_visa_debit",
    "tok_mastercard",
    "tok_mastercard_debit",
    "tok_mastercard_prepaid",
    "tok_amex",
    "tok_discover",
    "tok_diners",
    "tok_jcb",
    "tok_unionpay",
]


async def _paid_with(api: GraphQLClient, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    shop = await make_workspace()
    product = await make_product(shop, price=1500)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]
    pay = {"orderId": order_id, "gateway": "SANDBOX", "paymentMethodToken": token}
    answer = (await api(PAY, {"input": pay}, as_user=BUYER)).data["initiatePayment"]
    await api.sandbox.drain()
    order = (await api(PAYMENT, {"id": order_id}, as_user=BUYER)).data["order"]
    return answer, order


def test_the_tables_name_every_documented_card() -> None:
    assert set(STRIPE_BRANDS) == SUCCEEDING
    assert len(BRANDS) * 2 == len(STRIPE_BRANDS)
    assert set(STRIPE_DECLINES) <= DECLINES.keys()
    assert {DECLINES[name].code for name in STRIPE_DECLINES} == set(STRIPE_DECLINES.values())


@pytest.mark.parametrize("token", STRIPE_BRANDS)
async def test_a_brand_test_card_pays_the_order(api: GraphQLClient, token: str) -> None:
    answer, order = await _paid_with(api, token)

    assert answer["errors"] == []
    assert answer["payment"]["status"] == "PROCESSING"
    assert order["status"] == "PAID"
    assert order["payments"] == [
        {"status": "SUCCEEDED", "failureCode": None, "failureMessage": None}
    ]


@pytest.mark.parametrize(("token", "code"), sorted(STRIPE_DECLINES.items()))
async def test_a_decline_test_card_fails_with_stripes_code(
    api: GraphQLClient, token: str, code: str
) -> None:
    answer, order = await _paid_with(api, token)

    assert answer["errors"] == []
    assert order["status"] == "PENDING"  # the buyer may try another card
    [payment] = order["payments"]
    assert payment["status"] == "FAILED"
    assert payment["failureCode"] == code
    assert payment["failureMessage"] == DECLINES[token].message


@pytest.mark.parametrize("token", sorted(set(DECLINES) - set(STRIPE_DECLINES)))
async def test_every_other_spelling_of_a_decline_fails_too(api: GraphQLClient, token: str) -> None:
    _, order = await _paid_with(api, token)

    assert [p["status"] for p in order["payments"]] == ["FAILED"]
    assert order["payments"][0]["failureCode"] == DECLINES[token].code


@pytest.mark.parametrize("token", ["pm_card_visaa", "tok_", "pm_card_chargeDeclinedNope"])
async def test_a_name_stripe_does_not_document_is_refused(api: GraphQLClient, token: str) -> None:
    answer, order = await _paid_with(api, token)

    assert [e["code"] for e in answer["errors"]] == ["PAYMENT_METHOD_INVALID"]
    assert answer["errors"][0]["field"] == ["input", "paymentMethodToken"]
    assert order["payments"] == []
