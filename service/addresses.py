"""E-mail addresses, checked where they enter and kept apart from the names shown with them.

A mailbox is a pair (display name, address). The address is checked once, by
email-validator, and is never read back out of display text: "Jane: x@evil.example
<reader@example.net>" has fooled `email.utils.parseaddr` into choosing the wrong address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

# Mail between processes on one machine (the development default sender) is still mail,
# though email-validator refuses these special-use names.
LOCAL_HOSTS = frozenset({"localhost"})
_SETTING = re.compile(r"\s*(?:(?P<name>[^<>]*?)\s*<(?P<address>[^<>]*)>|(?P<bare>[^<>\s]*))\s*")
_QUOTED_NAME = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SPECIALS = frozenset('()<>[]:;@\\,"')
# Providers that deliver every dotted spelling of a local part to one mailbox.
_DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


class BadAddress(ValueError):
    """An address, or a "Name <address>" setting, Broadsheet cannot use; the message says why."""


def checked_address(address: str) -> str:
    """`address` checked by email-validator, in the ASCII form SMTP needs, or BadAddress."""
    if not isinstance(address, str):
        raise BadAddress(f"an e-mail address must be text, not {type(address).__name__}")
    local, at, host = address.rpartition("@")
    on_this_host = bool(at) and host.lower() in LOCAL_HOSTS
    candidate = f"{local}@example.com" if on_this_host else address
    try:
        result = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        hint = ""
        if not local.isascii():
            hint = " Such an address needs SMTPUTF8, which Broadsheet does not use."
        message = f"{address!r} is not an address Broadsheet can use: {error}{hint}"
        raise BadAddress(message) from None
    if "=?" in result.local_part:
        # Valid, but it opens an RFC 2047 encoded-word: a mail client may decode it into
        # other words than the address (a display spoof), so no header carries it (the
        # digest refused every copy to such a subscriber, after confirming them).
        raise BadAddress(f"{address!r} is not an address Broadsheet can use: it holds '=?'")
    if on_this_host:
        return f"{result.local_part}@{host.lower()}"
    # An internationalised domain goes out as its A-label (xn--…), which every server reads.
    return result.ascii_email or result.normalized


def mailbox_key(address: str) -> str:
    """One key for the spellings of a checked address that reach one mailbox: letter case, a
    "+tag" (sub-addressing, RFC 5233: most providers deliver it to the base mailbox) and, at
    Gmail, dots. Wider than a subscriber's identity, so only what counts sign-ups uses it:
    a stranger cannot send one inbox more confirmations by varying the spelling."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _DOTS_IGNORED:
        local, domain = local.replace(".", "") or local, _DOTS_IGNORED[domain]
    return f"{local}@{domain}"


@dataclass(frozen=True, slots=True)
class Mailbox:
    """Who a message is from or to: a display name and an address checked on creation."""

    name: str
    address: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise BadAddress(f"a display name must be text, not {type(self.name).__name__}")
        object.__setattr__(self, "address", checked_address(self.address))


def parse_mailbox(setting: str) -> Mailbox:
    """A "Name <address>" or bare-address setting (MAIL_FROM) as a Mailbox, or BadAddress.

    Meant to run once, at startup; a display name with any of ( ) < > [ ] : ; @ \\ , "
    must be in double quotes, so the setting can mean one thing only.
    """
    match = _SETTING.fullmatch(setting)
    if match is None:
        raise BadAddress(f'{setting!r} is not "Name <address>" or a single address')
    if match["bare"] is not None:
        return Mailbox("", match["bare"])
    name = match["name"]
    quoted = _QUOTED_NAME.fullmatch(name)
    if quoted:
        name = re.sub(r"\\(.)", r"\1", quoted.group(1))
    elif _SPECIALS & set(name):
        raise BadAddress(
            f'the display name in {setting!r} holds one of ( ) < > [ ] : ; @ \\ , ": '
            'put the name in double quotes, as in "Doe, Jane" <jane@example.org>'
        )
    return Mailbox(name, match["address"])
