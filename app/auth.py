"""JWT bearer tokens (PyJWT): HS256 with PAYQL_JWT_SECRET, or RS256 with a public key.

Claims payql reads: ``sub`` or ``email`` (the user's email), optional ``admin: true``.
Workspace roles are not in the token: they are Membership rows, so revoking staff access
takes effect at once.
"""

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from app.settings import Settings
from resolvers.actor import Principal

LEEWAY_SECONDS = 30
VERIFIED_CACHE_SIZE = 4096


class InvalidToken(Exception):
    """The bearer token is malformed, expired or not signed by us. Never carries the token."""


def issue_token(
    settings: Settings, *, email: str, admin: bool = False, ttl: timedelta = timedelta(days=30)
) -> str:
    """Sign an HS256 token for ``email`` (what ``payql token`` prints)."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {"sub": email, "email": email, "iat": now, "exp": now + ttl}
    if admin:
        claims["admin"] = True
    return jwt.encode(claims, settings.signing_secret, algorithm="HS256")


def decode_token(settings: Settings, token: str, *, now: float | None = None) -> Principal:
    """Verify ``token`` and return its principal.

    A verified token is remembered (up to :data:`VERIFIED_CACHE_SIZE` of them, keyed by the
    key and the token) with its expiry, which is checked again on every use: a client
    sends the same token with every request, and checking its signature costs more than
    the rest of authentication. Failures are never remembered.

    :raises InvalidToken: bad signature, wrong algorithm, expired, or no email claim.
    """
    if settings.jwt_public_key:
        key, algorithm = settings.jwt_public_key, "RS256"
    else:
        key, algorithm = settings.signing_secret, "HS256"
    principal, expires = _verified(key, algorithm, token)
    if expires + LEEWAY_SECONDS < (time.time() if now is None else now):
        raise InvalidToken("ExpiredSignatureError")
    return principal


@lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def _verified(key: str, algorithm: str, token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None
    email = claims.get("email") or claims.get("sub")
    if not isinstance(email, str) or "@" not in email:
        raise InvalidToken("no email claim")
    principal = Principal(email=email.strip().lower(), is_admin=claims.get("admin") is True)
    return principal, float(claims["exp"])


def principal_from_header(settings: Settings, header: str | None) -> Principal | None:
    """``Authorization: Bearer <jwt>`` → principal; no header → None.

    :raises InvalidToken: the header is present but not a valid bearer token.
    """
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("not a bearer token")
    return decode_token(settings, token.strip())
