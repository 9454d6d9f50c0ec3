"""Settings from environment variables and an optional ``.env`` file (names per DESIGN §7)."""

import hashlib
import hmac
from enum import StrEnum
from functools import cached_property
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "payql-development-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_BYTES = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class InsecureSettings(ValueError):
    """Production settings that would be unsafe to run with."""


class Settings(BaseSettings):
    """Everything payql reads from its environment.

    In production a missing, default or short ``PAYQL_JWT_SECRET`` (without an RS256 public
    key) refuses to start: anyone could mint tokens with a known secret.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

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

    # -- Rate limits and money bounds

    # -- Inbound input and retention

    # -- Durability, production checks and connections

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
    def _gateways_complete(self) -> Self:
        if self.stripe_secret_key and not self.stripe_webhook_secret:
            raise ValueError(
                "STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET: Stripe's outcomes "
                "arrive by webhook and could not be verified."
            )
        return self

    @model_validator(mode="after")
    def _safe_in_production(self) -> Self:
        if not self.production or self.jwt_public_key:
            return self
        secret = self.jwt_secret
        if not secret:
            raise InsecureSettings(
                "PAYQL_ENV=production needs PAYQL_JWT_SECRET (at least 32 bytes) "
                "or PAYQL_JWT_PUBLIC_KEY; refusing to start without one."
            )
        if secret == DEV_JWT_SECRET or len(secret.encode()) < MIN_SECRET_BYTES:
            raise InsecureSettings(
                "PAYQL_JWT_SECRET is the development default or shorter than 32 bytes; "
                "refusing to start in production with a guessable secret."
            )
        return self
