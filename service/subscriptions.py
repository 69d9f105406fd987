"""Signing up, confirming and leaving: double opt-in with signed links, no Flask in sight.

A sign-up answers the same, after the same work, whether the address is new, pending,
confirmed or gone: one row written and one mail queued in the outbox (a confirmation, or
for a confirmed subscriber a note that they are already subscribed). Nothing waits on the
mail server; the relay sends the mail later and writes its links when it does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Annotated, Any, ClassVar, TypeGuard

from jinja2 import Environment
from pydantic import AfterValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import Connection, Engine

from . import schema_patterns as patterns
from .addresses import LOCAL_HOSTS, BadAddress, Mailbox, checked_address
from .characters import character_problem, is_blank
from .email_renderer import Inliner
from .errors import BroadsheetError, FieldError, NotFound
from .labels import labels_for
from .messages import build_message
from .request_models import RequestModel, in_words, request_errors
from .settings import Settings
from .storage import outbox
from .storage import subscribers as store
from .storage.models import MAX_SUBSCRIBER_ID, Status
from .storage.subscribers import Consent, SubscriberRow
from .tokens import Purpose, TokenSigner, made_at

MAX_NAME = 200
MAX_EMAIL = 254
CONFIRM = "confirm"
ALREADY_SUBSCRIBED = "already-subscribed"
FORMS = ("form", "json")


class BadSignUp(BroadsheetError):
    """A sign-up whose fields cannot be used; `errors` says which and why."""

    status: ClassVar[int] = 422
    slug: ClassVar[str] = "invalid-sign-up"
    title: ClassVar[str] = "The sign-up could not be accepted"

    def __init__(self, errors: list[FieldError]):
        super().__init__("Please correct the fields named in errors.", errors)


_ENTER_ADDRESS = "Enter your e-mail address"
_ADDRESS_LIKE = "Enter an e-mail address like name@example.org"


def _usable_address(email: str) -> str:
    """The address email-validator accepts, in the ASCII form SMTP needs; a mailbox on the
    machine itself (root@localhost) is for the sender's own use, never a stranger's."""
    try:
        address = checked_address(email.strip())
    except BadAddress:
        raise PydanticCustomError("address", _ADDRESS_LIKE) from None
    if address.rpartition("@")[2] in LOCAL_HOSTS:
        raise PydanticCustomError("address", _ADDRESS_LIKE)
    return address


def _shown_name(name: str) -> str | None:
    """The name with its runs of white space made one space, or None when nothing is left
    that shows (a zero-width space or a Hangul filler alone is no name)."""
    name = " ".join(name.split())
    if name and (problem := character_problem(name, line_breaks=False)):
        raise PydanticCustomError("character", f"The name {problem}")
    return None if is_blank(name) else name


Address = Annotated[
    str,
    Field(min_length=3, max_length=MAX_EMAIL, json_schema_extra={"format": "email"}),
    in_words(_ADDRESS_LIKE, blank=_ENTER_ADDRESS, string_type=_ENTER_ADDRESS),
    AfterValidator(_usable_address),
]
Name = Annotated[
    str,
    Field(max_length=MAX_NAME, json_schema_extra={"pattern": patterns.spaced_text()}),
    in_words(f"Enter a name of at most {MAX_NAME} characters", string_type="must be text"),
    AfterValidator(_shown_name),
]


class SignUpRequest(RequestModel):
    """`POST /subscribe` as JSON: an address and, if the reader likes, a name."""

    model_config = ConfigDict(title="SignUpRequest")
    unknown_field_message: ClassVar[str] = "is not a field of a sign-up; send email and name"
    missing_field_messages: ClassVar[Mapping[str, str]] = {"email": _ENTER_ADDRESS}

    email: Address = Field(description="an e-mail address")
    name: Name | None = Field(None, description="one line of text")


def read_sign_up(data: Any) -> SignUpRequest:
    """The sign-up in `data` (the JSON body, or the form's two fields), or BadSignUp naming
    each field at fault."""
    if not isinstance(data, dict):
        raise BadSignUp([FieldError("", "must be an object: {email, name?}")])
    try:
        return SignUpRequest.model_validate(data)
    except ValidationError as error:
        raise BadSignUp(request_errors(error, SignUpRequest)) from None


def _an_id(value: Any) -> TypeGuard[int]:
    """A subscriber id as a signed link carries it: a positive whole number an id can be."""
    return type(value) is int and 0 < value <= MAX_SUBSCRIBER_ID


def _named(connection: Connection, subscriber_id: Any, second: int | None) -> SubscriberRow:
    """The subscriber an unsubscribe link names: its id, and the row made when it says."""
    row = store.find(connection, subscriber_id) if _an_id(subscriber_id) else None
    if row is None or not made_at(row.created_at, second):
        raise NotFound("This link is not valid.")
    return row


class Subscriptions:
    """The subscriber's side of the digest: sign up, confirm, leave; and the mail it sends."""

    def __init__(
        self,
        engine: Engine,
        signer: TokenSigner,
        settings: Settings,
        env: Environment,
        inliner: Inliner,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.writer = engine.execution_options(broadsheet_write=True)
        self.signer = signer
        self.settings = settings
        self.env = env
        self.inliner = inliner
        self.clock = clock

    # The three things a reader does ------------------------------------------------------

    def sign_up(self, request: SignUpRequest, *, ip: str | None, form: str) -> None:
        """Record the sign-up and queue its mail; the same work whoever signs up."""
        now = self.clock()
        with self.writer.begin() as connection:
            row = store.record_sign_up(
                connection, request.email, request.name, Consent(now, ip, form)
            )
            purpose = ALREADY_SUBSCRIBED if row.status is Status.CONFIRMED else CONFIRM
            outbox.enqueue(connection, purpose=purpose, subscriber_id=row.id, now=now)

    def subscriber_to_confirm(self, token: str) -> SubscriberRow:
        """Who a confirmation link names, changing nothing: pending (the page then asks them
        to press the button) or confirmed already; NotFound when the link no longer applies.

        A GET changes nothing, so a mail provider's link scanner, which opens every link it
        sees, cannot confirm a sign-up that a stranger made for someone else."""
        subscriber_id, consented_at = self._confirm_token(token)
        with self.engine.connect() as connection:
            row = store.find(connection, subscriber_id)
        if (
            row is None
            or row.consented_at != consented_at
            or row.status not in (Status.PENDING, Status.CONFIRMED)
        ):
            raise NotFound("This link is not valid, or it has expired.")
        return row

    def _confirm_token(self, token: str) -> tuple[int, datetime]:
        subscriber_id, consented = self.signer.read(Purpose.CONFIRM, token, 2)
        try:
            consented_at = datetime.fromisoformat(str(consented))
        except ValueError:
            raise NotFound("This link is not valid, or it has expired.") from None
        if not _an_id(subscriber_id) or consented_at.tzinfo is None:
            raise NotFound("This link is not valid, or it has expired.")
        return subscriber_id, consented_at

    def confirm(self, token: str) -> SubscriberRow:
        subscriber_id, consented_at = self._confirm_token(token)
        with self.writer.begin() as connection:
            if not store.confirm(connection, subscriber_id, consented_at, self.clock()):
                raise NotFound("This link is not valid, or it has expired.")
            row = store.find(connection, subscriber_id)
        assert row is not None
        return row

    def subscriber_to_unsubscribe(self, token: str) -> SubscriberRow:
        """Who an unsubscribe link names, changing nothing; NotFound when nobody."""
        subscriber_id, second = self.signer.read_unsubscribe(token)
        with self.engine.connect() as connection:
            return _named(connection, subscriber_id, second)

    def unsubscribe(self, token: str) -> SubscriberRow:
        subscriber_id, second = self.signer.read_unsubscribe(token)
        with self.writer.begin() as connection:
            named = _named(connection, subscriber_id, second)
            if not store.unsubscribe(connection, named.id, self.clock()):
                raise NotFound("This link is not valid.")
            row = store.find(connection, named.id)
        assert row is not None
        return row

    # Links and mail -----------------------------------------------------------------------

    def confirm_url(self, row: SubscriberRow) -> str:
        token = self.signer.sign(Purpose.CONFIRM, row.id, row.consented_at.isoformat())
        return f"{self.settings.base_url}/subscribe/confirm/{token}"

    def unsubscribe_url(self, row: SubscriberRow) -> str:
        token = self.signer.unsubscribe(row.id, row.created_at)
        return f"{self.settings.base_url}/unsubscribe/{token}"

    def compose(
        self, purpose: str, subscriber_id: int, message_id: str
    ) -> tuple[EmailMessage, Mailbox] | None:
        """The outbox mail `purpose` for the subscriber, or None when it no longer applies
        (confirmed before the confirmation went out, or left before the notice did)."""
        with self.engine.connect() as connection:
            row = store.find(connection, subscriber_id)
        wanted = Status.PENDING if purpose == CONFIRM else Status.CONFIRMED
        if row is None or row.status is not wanted:
            return None
        context = {
            "lang": "en",
            "dir": "ltr",
            "labels": labels_for("en"),
            "label_lang": "",
            "publisher_name": self.settings.publisher_name,
            "publisher": None,
            "settings": self.settings,
            "unsubscribe_url": self.unsubscribe_url(row) if purpose != CONFIRM else "",
            "confirm_url": self.confirm_url(row) if purpose == CONFIRM else "",
            "purpose": purpose,
            "name": row.name,
        }
        subject = (
            f"Confirm your subscription to {self.settings.publisher_name}"
            if purpose == CONFIRM
            else f"You are already subscribed to {self.settings.publisher_name}"
        )
        context["title"] = subject
        # Until the address confirms, its name is only what a stranger may have typed: a
        # confirmation carries no name of theirs to a mailbox that never asked.
        recipient = Mailbox("" if purpose == CONFIRM else row.name or "", row.email)
        message = build_message(
            sender=self.settings.mail_from,
            to=recipient,
            subject=subject,
            text=self.env.get_template("subscriptions/mail.txt").render(context),
            html=self.inliner.inline(
                self.env.get_template("subscriptions/mail.html").render(context)
            ),
            message_id=message_id,
        )
        return message, recipient
