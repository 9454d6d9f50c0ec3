"""Settings from environment variables and an optional ``.env`` file (names per DESIGN §7)."""

import hashlib
import hmac
import math
from collections import Counter
from enum import StrEnum
from functools import cached_property
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "payql-development-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_BYTES = 32
MIN_DISTINCT_CHARACTERS = 10
MIN_SECRET_BITS = 128
ENV_EXAMPLE_SECRET = "change-me-to-at-least-32-random-bytes"  # noqa: S105 (the old placeholder)
PUBLISHED_SECRETS = frozenset({DEV_JWT_SECRET, ENV_EXAMPLE_SECRET})
PLACEHOLDER_WORDS = ("change-me", "changeme", "do-not-use", "replace-me", "example")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class InsecureSettings(ValueError):
    """Production settings that would be unsafe to run with."""


class Settings(BaseSettings):
    """Everything payql reads from its environment.

    In production a missing or weak ``PAYQL_JWT_SECRET`` (without an RS256 public key), and
    an enabled sandbox without a strong ``PAYQL_SANDBOX_WEBHOOK_SECRET`` of its own, refuse
    to start (:func:`weak_secret_reason` is the rule): anyone could mint tokens or sign
    sandbox outcomes with a known secret.
    """

    # A refusal must never print the values it refused (they are secrets).
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, hide_input_in_errors=True
    )

    database_url: str = Field("sqlite://payql.sqlite3", alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    env: Environment = Field(Environment.DEVELOPMENT, alias="PAYQL_ENV")
    jwt_secret: str | None = Field(None, alias="PAYQL_JWT_SECRET")
    jwt_public_key: str | None = Field(None, alias="PAYQL_JWT_PUBLIC_KEY")
    public_url: str = Field("http://127.0.0.1:8000", alias="PAYQL_PUBLIC_URL")
    allowed_origins: list[str] = Field(default_factory=list, alias="PAYQL_ALLOWED_ORIGINS")

    max_body_bytes: int = Field(1_000_000, alias="PAYQL_MAX_BODY_BYTES")
    max_query_depth: int = Field(12, alias="PAYQL_MAX_QUERY_DEPTH")
    max_aliases: int = Field(30, alias="PAYQL_MAX_ALIASES")
    max_tokens: int = Field(3000, alias="PAYQL_MAX_TOKENS")
    max_subscriptions_per_connection: int = Field(20, alias="PAYQL_MAX_SUBSCRIPTIONS")
    introspection: bool | None = Field(None, alias="PAYQL_INTROSPECTION")
    field_suggestions: bool | None = Field(None, alias="PAYQL_FIELD_SUGGESTIONS")
    graphiql: bool | None = Field(None, alias="PAYQL_GRAPHIQL")

    sandbox: bool | None = Field(None, alias="PAYQL_SANDBOX")
    sandbox_webhook_secret: str | None = Field(None, alias="PAYQL_SANDBOX_WEBHOOK_SECRET")
    access_log: bool = Field(True, alias="PAYQL_ACCESS_LOG")
    ws_deflate: bool = Field(False, alias="PAYQL_WS_DEFLATE")
    job_interval_seconds: float = Field(2.0, alias="PAYQL_JOB_INTERVAL")
    outbox_delay_seconds: float = Field(5.0, alias="PAYQL_OUTBOX_DELAY")
    reconcile_after_seconds: float = Field(120.0, alias="PAYQL_RECONCILE_AFTER")

    stripe_secret_key: str | None = Field(None, alias="STRIPE_SECRET_KEY")
    stripe_publishable_key: str | None = Field(None, alias="STRIPE_PUBLISHABLE_KEY")
    stripe_webhook_secret: str | None = Field(None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = Field(None, alias="STRIPE_API_BASE")
    stripe_timeout_seconds: float = Field(30.0, alias="STRIPE_TIMEOUT")
    stripe_max_network_retries: int = Field(2, alias="STRIPE_MAX_NETWORK_RETRIES")
    stripe_send_refund_reason: bool = Field(True, alias="STRIPE_SEND_REFUND_REASON")
    gateway_timeout_seconds: float = Field(30.0, alias="PAYQL_GATEWAY_TIMEOUT")
    paystack_secret_key: str | None = Field(None, alias="PAYSTACK_SECRET_KEY")
    paystack_public_key: str | None = Field(None, alias="PAYSTACK_PUBLIC_KEY")
    paystack_api_base: str = Field("https://api.paystack.co", alias="PAYSTACK_API_BASE")
    flutterwave_secret_key: str | None = Field(None, alias="FLUTTERWAVE_SECRET_KEY")
    flutterwave_public_key: str | None = Field(None, alias="FLUTTERWAVE_PUBLIC_KEY")
    flutterwave_webhook_hash: str | None = Field(None, alias="FLUTTERWAVE_WEBHOOK_HASH")
    flutterwave_api_base: str = Field(
        "https://api.flutterwave.com/v3", alias="FLUTTERWAVE_API_BASE"
    )
    razorpay_key_id: str | None = Field(None, alias="RAZORPAY_KEY_ID")
    razorpay_key_secret: str | None = Field(None, alias="RAZORPAY_KEY_SECRET")
    razorpay_webhook_secret: str | None = Field(None, alias="RAZORPAY_WEBHOOK_SECRET")
    razorpay_api_base: str = Field("https://api.razorpay.com/v1", alias="RAZORPAY_API_BASE")

    # -- GraphQL documents, cost and websockets
    allow_local_origins: bool | None = Field(None, alias="PAYQL_ALLOW_LOCAL_ORIGINS")
    max_query_bytes: int = Field(100_000, alias="PAYQL_MAX_QUERY_BYTES")
    document_cache_bytes: int = Field(64_000_000, alias="PAYQL_DOCUMENT_CACHE_BYTES")
    max_cost: int = Field(100_000, alias="PAYQL_MAX_COST")
    cost_list_size: int = Field(10, alias="PAYQL_COST_LIST_SIZE")
    ws_idle_timeout_seconds: float = Field(60.0, alias="PAYQL_WS_IDLE_TIMEOUT")

    # -- Rate limits and money bounds
    rate_limits: bool = Field(True, alias="PAYQL_RATE_LIMITS")
    rate_limit_initiate_payment: str = Field(
        "60/minute;600/hour", alias="PAYQL_RATE_LIMIT_INITIATE_PAYMENT"
    )
    rate_limit_confirm_payment: str = Field(
        "120/minute;1200/hour", alias="PAYQL_RATE_LIMIT_CONFIRM_PAYMENT"
    )
    rate_limit_request_refund: str = Field(
        "60/minute;300/hour", alias="PAYQL_RATE_LIMIT_REQUEST_REFUND"
    )
    rate_limit_manual_payment: str = Field(
        "120/minute;1200/hour", alias="PAYQL_RATE_LIMIT_MANUAL_PAYMENT"
    )
    rate_limit_seats: str = Field("200/15minutes;400/day", alias="PAYQL_RATE_LIMIT_SEATS")

    # -- Inbound input and retention
    metrics_token: str | None = Field(None, alias="PAYQL_METRICS_TOKEN", repr=False)
    log_format: str = Field("text", alias="PAYQL_LOG_FORMAT", pattern="^(text|json)$")
    max_json_depth: int = Field(32, alias="PAYQL_MAX_JSON_DEPTH", gt=0)
    webhook_retention_days: float = Field(30.0, alias="PAYQL_WEBHOOK_RETENTION_DAYS", gt=0)
    rejected_webhook_retention_days: float = Field(
        7.0, alias="PAYQL_REJECTED_WEBHOOK_RETENTION_DAYS", gt=0
    )
    rejected_webhooks_per_minute: int = Field(60, alias="PAYQL_REJECTED_WEBHOOKS_PER_MINUTE", ge=0)
    outbox_retention_days: float = Field(7.0, alias="PAYQL_OUTBOX_RETENTION_DAYS", gt=0)
    prune_interval_seconds: float = Field(300.0, alias="PAYQL_PRUNE_INTERVAL", gt=0)
    prune_batch: int = Field(1000, alias="PAYQL_PRUNE_BATCH", gt=0)
    webhook_retry_max_attempts: int = Field(20, alias="PAYQL_WEBHOOK_RETRY_MAX_ATTEMPTS", gt=0)
    webhook_retry_max_delay_seconds: float = Field(
        3600.0, alias="PAYQL_WEBHOOK_RETRY_MAX_DELAY", gt=0
    )

    # -- Durability, production checks and connections
    # Where this server listens; ``payql serve`` sets it for its workers from --host/--port.
    listen_url: str = Field("http://127.0.0.1:8000", alias="PAYQL_LISTEN_URL")
    public_url_probe: bool = Field(True, alias="PAYQL_PUBLIC_URL_PROBE")
    reconcile_max_backoff_seconds: float = Field(3600.0, alias="PAYQL_RECONCILE_MAX_BACKOFF")
    reconcile_give_up_after_seconds: float = Field(86_400.0, alias="PAYQL_RECONCILE_GIVE_UP_AFTER")
    sandbox_redeliver_after_seconds: float = Field(10.0, alias="PAYQL_SANDBOX_REDELIVER_AFTER")
    header_timeout_seconds: float = Field(10.0, alias="PAYQL_HEADER_TIMEOUT")
    keep_alive_timeout_seconds: int = Field(5, alias="PAYQL_KEEP_ALIVE_TIMEOUT")
    ws_ping_interval_seconds: float = Field(20.0, alias="PAYQL_WS_PING_INTERVAL")
    ws_ping_timeout_seconds: float = Field(20.0, alias="PAYQL_WS_PING_TIMEOUT")

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def dev_defaults(self) -> bool:
        """Introspection, suggestions and GraphiQL default to on in development only."""
        return not self.production

    @property
    def introspection_enabled(self) -> bool:
        return self.dev_defaults if self.introspection is None else self.introspection

    @property
    def field_suggestions_enabled(self) -> bool:
        return self.dev_defaults if self.field_suggestions is None else self.field_suggestions

    @property
    def graphiql_enabled(self) -> bool:
        return self.dev_defaults if self.graphiql is None else self.graphiql

    @property
    def sandbox_enabled(self) -> bool:
        """The built-in sandbox gateway: on in development, opt-in in production."""
        return self.dev_defaults if self.sandbox is None else self.sandbox

    @cached_property
    def sandbox_secret(self) -> str:
        """Signs sandbox webhooks and hosted-page tickets (derived from the JWT secret)."""
        if self.sandbox_webhook_secret:
            return self.sandbox_webhook_secret
        return hmac.new(self.signing_secret.encode(), b"payql-sandbox", hashlib.sha256).hexdigest()

    @cached_property
    def signing_secret(self) -> str:
        """The HS256 secret: the configured one, or the development default."""
        return self.jwt_secret or DEV_JWT_SECRET

    @model_validator(mode="after")
    def _public_url_follows_the_listener(self) -> Self:
        # Unset, buyers' redirects name the address this server listens on, whatever port.
        if "public_url" not in self.model_fields_set:
            self.public_url = self.listen_url
        return self

    @model_validator(mode="after")
    def _gateways_complete(self) -> Self:
        if self.stripe_secret_key and not self.stripe_webhook_secret:
            raise ValueError(
                "STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET: Stripe's outcomes "
                "arrive by webhook and could not be verified."
            )
        return self

    @model_validator(mode="after")
    def _safe_in_production(self) -> Self:
        if not self.production:
            return self
        if not self.jwt_public_key:
            _refuse_weak("PAYQL_JWT_SECRET", self.jwt_secret, "or PAYQL_JWT_PUBLIC_KEY")
        if self.sandbox_enabled:
            # Derived from PAYQL_JWT_SECRET, or with RS256 from the published development
            # default: anyone could sign sandbox outcomes and mark orders paid.
            _refuse_weak("PAYQL_SANDBOX_WEBHOOK_SECRET", self.sandbox_webhook_secret, "")
            if self.sandbox_webhook_secret == self.jwt_secret:
                raise InsecureSettings(
                    "PAYQL_SANDBOX_WEBHOOK_SECRET must differ from PAYQL_JWT_SECRET; "
                    "refusing to start in production."
                )
        return self


def weak_secret_reason(secret: str | None) -> str | None:
    """Why ``secret`` is unfit for production, or None when it passes the rule.

    The rule: at least :data:`MIN_SECRET_BYTES` bytes, at least
    :data:`MIN_DISTINCT_CHARACTERS` distinct characters, an estimated strength of at least
    :data:`MIN_SECRET_BITS` bits (its length times the Shannon entropy of its characters),
    and none of payql's published defaults or placeholders. ``secrets.token_urlsafe(32)``
    and ``openssl rand -hex 32`` pass.
    """
    if not secret:
        return "is missing"
    lowered = secret.strip().lower()
    if secret in PUBLISHED_SECRETS or any(word in lowered for word in PLACEHOLDER_WORDS):
        return "is a published default or placeholder"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    if estimated_bits(secret) < MIN_SECRET_BITS:
        return f"has less than {MIN_SECRET_BITS} bits of estimated entropy"
    return None


def estimated_bits(secret: str) -> float:
    """The length of ``secret`` times the Shannon entropy of its character frequencies."""
    counts = Counter(secret)
    size = len(secret)
    return -sum(n * math.log2(n / size) for n in counts.values())


def _refuse_weak(name: str, secret: str | None, alternative: str) -> None:
    reason = weak_secret_reason(secret)
    if reason is None:
        return
    instead = f" ({alternative})" if alternative else ""
    # Names the setting and the rule it broke, never the value.
    raise InsecureSettings(
        f"{name} {reason}; refusing to start in production without a random one{instead}, "
        "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
    )
