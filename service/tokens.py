"""Signed tokens in subscription links, each bound to one purpose (itsdangerous).

A confirmation token expires; an unsubscribe token never does, because an old digest in
someone's inbox must still let them leave. Anything forged, altered, expired or made for
another purpose is simply not found.

A link names its subscriber by id and by the second their row was made (a confirmation by
the sign-up it confirms): an id SQLite gives again after a row is deleted (an erasure by
hand) names someone new, whom an old link must not name. Unsubscribe links signed before
they carried the second name the id alone and are still honoured.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache

from itsdangerous import BadData, Signer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode, want_bytes

from .errors import NotFound

CONFIRM_MAX_AGE = 7 * 24 * 3600
INVALID = "This link is not valid, or it has expired."


class Purpose(Enum):
    CONFIRM = "broadsheet.subscribe.confirm"
    UNSUBSCRIBE = "broadsheet.unsubscribe"


@lru_cache(maxsize=16)
def _serializer(secret_keys: tuple[str, ...], purpose: Purpose) -> URLSafeTimedSerializer:
    # itsdangerous takes the keys oldest first: it signs with the last, and reads a token
    # signed with any of them.
    return URLSafeTimedSerializer(list(secret_keys), salt=purpose.value)


class _KeyOnceSigner(TimestampSigner):
    """itsdangerous' TimestampSigner with its HMAC key derived once instead of per token:
    the same tokens (the serializer reads them as its own), at a quarter of the cost."""

    def __init__(self, secret_key: str, salt: str) -> None:
        super().__init__(secret_key, salt=salt)
        self._mac = hmac.new(self.derive_key(), digestmod=self.digest_method)

    def get_signature(self, value: str | bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(want_bytes(value))
        return base64_encode(mac.digest())


@lru_cache(maxsize=16)
def _signer(secret_key: str, purpose: Purpose) -> Signer:
    return _KeyOnceSigner(secret_key, purpose.value)


@dataclass(frozen=True, slots=True)
class TokenSigner:
    secret_key: str
    confirm_max_age: int = CONFIRM_MAX_AGE
    # Former keys (SECRET_KEY_FALLBACKS): links they signed are still read, never signed.
    fallback_keys: tuple[str, ...] = ()

    def _serializer(self, purpose: Purpose) -> URLSafeTimedSerializer:
        return _serializer((*self.fallback_keys, self.secret_key), purpose)

    def sign(self, purpose: Purpose, *parts: int | str) -> str:
        # serializer.dumps(), with the signer made once per purpose: a digest run signs a
        # link for every recipient, and deriving the key each time would cost as much.
        serializer = self._serializer(purpose)
        return _signer(self.secret_key, purpose).sign(serializer.dump_payload(list(parts))).decode()

    def unsubscribe(self, subscriber_id: int, created_at: datetime) -> str:
        return self.sign(Purpose.UNSUBSCRIBE, subscriber_id, _second(created_at))

    def read_unsubscribe(self, token: str) -> tuple[int | str, int | None]:
        """The subscriber id, and the second their row was made (None in an older link)."""
        values = self.read(Purpose.UNSUBSCRIBE, token, (2, 1))
        return values[0], values[1] if len(values) == 2 and type(values[1]) is int else None

    def read(
        self, purpose: Purpose, token: str, arity: int | tuple[int, ...]
    ) -> tuple[int | str, ...]:
        """The values the token was signed with (`arity` of them, or one of the counts it
        lists), or NotFound."""
        max_age = self.confirm_max_age if purpose is Purpose.CONFIRM else None
        if not _as_signed(token):
            raise NotFound(INVALID)
        try:
            value = self._serializer(purpose).loads(token, max_age=max_age)
        except BadData:
            raise NotFound(INVALID) from None
        if not (
            isinstance(value, list)
            and len(value) in (arity if isinstance(arity, tuple) else (arity,))
            and all(isinstance(v, int | str) and not isinstance(v, bool) for v in value)
        ):
            raise NotFound(INVALID)
        return tuple(value)


# What sign() makes: URL-safe base64 pieces joined by dots: payload, timestamp, signature. A
# payload that zlib makes shorter is sent compressed, marked by a dot before it.
_SIGNED_SHAPE = re.compile(r"\.?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){2}")


def _as_signed(token: str) -> bool:
    """Whether `token` is written exactly as sign() writes one. itsdangerous decodes base64
    leniently: characters outside the alphabet, and the unused low bits of the signature's
    last character, are ignored, and the HMAC covers only what precedes the signature, so a
    link with characters added or changed there was still taken, and reflected."""
    if not _SIGNED_SHAPE.fullmatch(token):
        return False
    signature = token.rpartition(".")[2]
    try:
        return base64_encode(base64_decode(signature)).decode() == signature
    except BadData:
        return False


def _second(moment: datetime) -> int:
    return int(moment.timestamp())


def made_at(created_at: datetime, second: int | None) -> bool:
    """Whether a row made at `created_at` is the one a link naming `second` was made for
    (a link without one names whoever has the id)."""
    return second is None or _second(created_at) == second
