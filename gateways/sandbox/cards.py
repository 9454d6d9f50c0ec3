"""The sandbox's test payment methods: Stripe's documented test PaymentMethod (``pm_card_…``)
and token (``tok_…``) names, each ending as Stripe's test mode ends it.

====================================================  ==========================================
names                                                 outcome
====================================================  ==========================================
``pm_card_<brand>``, ``tok_<brand>`` (visa,           SUCCEEDED
visa_debit, mastercard, mastercard_debit,
mastercard_prepaid, amex, discover, diners, jcb,
unionpay)
``pm_card_chargeDeclined``, ``…visa_chargeDeclined``  FAILED ``card_declined``
``…chargeDeclinedInsufficientFunds``                  FAILED ``insufficient_funds``
``…chargeDeclinedLostCard``                           FAILED ``lost_card``
``…chargeDeclinedStolenCard``                         FAILED ``stolen_card``
``…chargeDeclinedFraudulent``                         FAILED ``fraudulent``
``…chargeDeclinedVelocityLimitExceeded``              FAILED ``card_velocity_exceeded``
``…chargeDeclinedExpiredCard``                        FAILED ``expired_card``
``…chargeDeclinedIncorrectCvc``                       FAILED ``incorrect_cvc``
``…chargeDeclinedProcessingError``                    FAILED ``processing_error``
====================================================  ==========================================

Each decline exists as ``pm_card_<reason>``, ``pm_card_visa_<reason>``, ``tok_<reason>`` and
``tok_visa_<reason>``, the spellings Stripe's testing page and its libraries use. A decline's
failure code is what Stripe reports as the charge's ``decline_code`` when there is one
(``card_declined`` / ``insufficient_funds`` → ``insufficient_funds``), else its error ``code``
(``expired_card``), the same rule as payql's Stripe gateway.
"""

from collections.abc import Mapping
from dataclasses import dataclass

BRANDS = (
    "visa",
    "visa_debit",
    "mastercard",
    "mastercard_debit",
    "mastercard_prepaid",
    "amex",
    "discover",
    "diners",
    "jcb",
    "unionpay",
)


@dataclass(frozen=True, slots=True)
class Decline:
    """How Stripe ends a payment with this test card: its failure code and message."""

    code: str
    message: str


_DECLINED = "Your card was declined."
_REASONS: Mapping[str, Decline] = {
    "chargeDeclined": Decline("card_declined", _DECLINED),
    "chargeDeclinedInsufficientFunds": Decline(
        "insufficient_funds", "Your card has insufficient funds."
    ),
    "chargeDeclinedLostCard": Decline("lost_card", _DECLINED),
    "chargeDeclinedStolenCard": Decline("stolen_card", _DECLINED),
    "chargeDeclinedFraudulent": Decline("fraudulent", _DECLINED),
    "chargeDeclinedVelocityLimitExceeded": Decline("card_velocity_exceeded", _DECLINED),
    "chargeDeclinedExpiredCard": Decline("expired_card", "Your card has expired."),
    "chargeDeclinedIncorrectCvc": Decline(
        "incorrect_cvc", "Your card's security code is incorrect."
    ),
    "chargeDeclinedProcessingError": Decline(
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}
_PREFIXES = ("pm_card_", "pm_card_visa_", "tok_", "tok_visa_")

DECLINES: Mapping[str, Decline] = {
    f"{prefix}{reason}": decline for prefix in _PREFIXES for reason, decline in _REASONS.items()
}
SUCCEEDING = frozenset(f"{prefix}{brand}" for prefix in ("pm_card_", "tok_") for brand in BRANDS)
# Behaviours of payql's own sandbox, named the way Stripe names its test cards.
SPECIAL = frozenset(
    {
        "pm_card_authenticationRequired",
        "pm_card_processing",
        "pm_card_refundFail",
        "pm_card_createDispute",
    }
)
KNOWN_TOKENS = SUCCEEDING | DECLINES.keys() | SPECIAL
