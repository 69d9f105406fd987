"""Language tags: validity (BCP 47, checked against the IANA registry) and writing direction."""

from __future__ import annotations

import re
from functools import lru_cache

import langcodes
from babel import Locale, UnknownLocaleError

# Scripts written right to left, for tags Babel has no locale for (ISO 15924 codes).
_RTL_SCRIPTS = frozenset(
    {"Adlm", "Arab", "Aran", "Hebr", "Mand", "Mend", "Nkoo", "Rohg", "Samr", "Syrc", "Thaa", "Yezi"}
)
_RTL_LANGUAGES = frozenset(
    {
        "ar",
        "arc",
        "ckb",
        "dv",
        "fa",
        "he",
        "iw",
        "ks",
        "ku-Arab",
        "nqo",
        "ps",
        "sd",
        "syr",
        "ug",
        "ur",
        "yi",
    }
)


# RFC 5646 syntax: alphanumeric subtags of 1 to 8 characters joined by hyphens.
TAG_SYNTAX = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


@lru_cache(maxsize=512)
def is_valid_language_tag(tag: str) -> bool:
    """True when `tag` is a well-formed, registered BCP 47 tag."""
    if len(tag) > 64 or not TAG_SYNTAX.fullmatch(tag):
        return False
    try:
        return bool(langcodes.tag_is_valid(tag))
    except (ValueError, LookupError):
        return False


@lru_cache(maxsize=512)
def locale_for(tag: str) -> Locale:
    """The Babel locale closest to `tag`, falling back to English."""
    try:
        return Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError, TypeError):
        pass
    try:
        return Locale.parse(tag.split("-")[0])
    except (ValueError, UnknownLocaleError, TypeError):
        return Locale("en")


@lru_cache(maxsize=512)
def direction_of(tag: str) -> str:
    """ "rtl" for right-to-left languages and scripts, otherwise "ltr"."""
    parsed = langcodes.Language.get(tag)
    # A tag without a script is written in its language's usual one (CLDR's likely
    # subtags: arz, Egyptian Arabic, is arz-Arab-EG), which Babel often has no locale for.
    script = parsed.script or _likely_script(parsed)
    if script:
        return "rtl" if script in _RTL_SCRIPTS else "ltr"
    if parsed.language in _RTL_LANGUAGES:
        return "rtl"
    try:
        locale = Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError, TypeError):
        return "ltr"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def _likely_script(parsed: langcodes.Language) -> str | None:
    try:
        return parsed.maximize().script
    except (ValueError, LookupError, KeyError):
        return None
