"""Signed tokens in subscription links, each bound to one purpose (itsdangerous).

A confirmation token expires; an unsubscribe token never does, because an old digest in
someone's inbox must still let them leave. Anything forged, altered, expired or made for
another purpose is simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from itsdangerous import BadData, URLSafeTimedSerializer

from .errors import NotFound

CONFIRM_MAX_AGE = 7 * 24 * 3600


class Purpose(Enum):
    CONFIRM = "broadsheet.subscribe.confirm"
    UNSUBSCRIBE = "broadsheet.unsubscribe"


@dataclass(frozen=True, slots=True)
class TokenSigner:
    secret_key: str
    confirm_max_age: int = CONFIRM_MAX_AGE

    def _serializer(self, purpose: Purpose) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt=purpose.value)

    def sign(self, purpose: Purpose, subscriber_id: int) -> str:
        return str(self._serializer(purpose).dumps(subscriber_id))

    def read(self, purpose: Purpose, token: str) -> int:
        """The subscriber id the token names, or NotFound."""
        max_age = self.confirm_max_age if purpose is Purpose.CONFIRM else None
        try:
            value = self._serializer(purpose).loads(token, max_age=max_age)
        except BadData:
            raise NotFound("This link is not valid, or it has expired.") from None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise NotFound("This link is not valid, or it has expired.")
        return value
