"""JWT bearer tokens (PyJWT): HS256 with PAYQL_JWT_SECRET, or RS256 with a public key.

Claims payql reads: ``sub`` or ``email`` (the user's email), optional ``admin: true``.
Workspace roles are not in the token: they are Membership rows, so revoking staff access
takes effect at once.
"""

from datetime import UTC, datetime, timedelta

import jwt

from app.settings import Settings
from resolvers.actor import Principal

LEEWAY_SECONDS = 30


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


def decode_token(settings: Settings, token: str) -> Principal:
    """Verify ``token`` and return its principal.

    :raises InvalidToken: bad signature, wrong algorithm, expired, or no email claim.
    """
    if settings.jwt_public_key:
        key, algorithms = settings.jwt_public_key, ["RS256"]
    else:
        key, algorithms = settings.signing_secret, ["HS256"]
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None
    email = claims.get("email") or claims.get("sub")
    if not isinstance(email, str) or "@" not in email:
        raise InvalidToken("no email claim")
    return Principal(email=email.strip().lower(), is_admin=claims.get("admin") is True)


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
