"""Language tags: validity (BCP 47, checked against the IANA registry) and writing direction."""

from __future__ import annotations

import re
from collections.abc import Container
from functools import lru_cache

import langcodes
from babel import Locale, UnknownLocaleError
from langcodes.data_dicts import LIKELY_SUBTAGS, MACROLANGUAGES

from . import later_rules

# Scripts written right to left (ISO 15924 codes; Unicode's bidi class R and AL scripts).
_RTL_SCRIPTS = frozenset(
    {
        "Adlm", "Arab", "Aran", "Armi", "Avst", "Chrs", "Cprt", "Elym", "Hatr", "Hebr", "Hung",
        "Khar", "Lydi", "Mand", "Mani", "Mend", "Narb", "Nbat", "Nkoo", "Orkh", "Ougr", "Palm",
        "Phli", "Phlp", "Phnx", "Prti", "Rohg", "Samr", "Sarb", "Sogd", "Sogo", "Syrc", "Syre",
        "Syrj", "Syrn", "Thaa", "Yezi",
    }
)  # fmt: skip
# Languages written right to left whose usual script CLDR does not give, or gives through a
# macrolanguage written otherwise (South Azerbaijani and Southern Uzbek are written in
# Arabic script; Azerbaijani and Uzbek in Latin).
_RTL_LANGUAGES = frozenset(
    {
        "ar", "arc", "azb", "ckb", "dv", "fa", "hbo", "he", "iw", "jpr", "jrb", "ks", "nqo",
        "ps", "sd", "syc", "syr", "ug", "ur", "uzs", "yi",
    }
)  # fmt: skip


# RFC 5646 syntax: alphanumeric subtags of 1 to 8 characters joined by hyphens.
TAG_SYNTAX = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


def language_tag_problem(tag: str) -> str | None:
    """Why `tag` names no language a reader's software knows, or None (see below)."""
    if is_valid_language_tag(tag):
        return None
    if tag[:2].lower() in ("x-", "i-") and _registered(tag):
        return f"{tag!r} is a private-use or irregular tag (x-…, i-…): name a language"
    return f"{tag!r} is not a valid BCP 47 language tag"


def is_valid_language_tag(tag: str) -> bool:
    """True when `tag` is a well-formed, registered BCP 47 tag naming a language: a
    private-use tag (x-klingon) or an irregular grandfathered one (i-klingon) names none a
    reader's software knows, and checkers refuse it in a lang attribute (later_rules.py)."""
    if tag[:2].lower() in ("x-", "i-") and later_rules.apply():
        return False
    return _registered(tag)


@lru_cache(maxsize=512)
def _registered(tag: str) -> bool:
    if len(tag) > 64 or not TAG_SYNTAX.fullmatch(tag):
        return False
    try:
        return bool(langcodes.tag_is_valid(tag))
    except (ValueError, LookupError):
        return False


def written_as(tag: str) -> str | None:
    """The macrolanguage whose written words `tag`'s readers read, when it is written in the
    same script: Egyptian (arz), Levantine (apc) and Moroccan (ary) Arabic read Arabic's, Dari
    (prs) Persian's; South Azerbaijani (azb, Arabic script) does not read Azerbaijani's (Latin).
    None when there is none."""
    primary = tag.split("-")[0].lower()
    macro = MACROLANGUAGES.get(primary)
    if not macro:
        return None
    script = _written_script(tag)
    if script:  # as the tag says it (arz-Latn reads no Arabic-script words)
        return macro if same_script(script, _likely_script(macro)) else None
    if primary in LIKELY_SUBTAGS:  # its own script, as CLDR knows it
        return macro if _likely_script(primary) == _likely_script(macro) else None
    # CLDR knows none (Iraqi Arabic, acm): its direction, as direction_of knows it, tells
    # Arabic-script Azerbaijani (azb, right to left) from Azerbaijani.
    return macro if direction_of(primary) == direction_of(macro) else None


def words_language(tag: str, available: Container[str]) -> str | None:
    """Which of the `available` languages' words `tag`'s readers read: its own, else its
    macrolanguage's (`written_as`), in the script the tag names; None when neither."""
    for code in (_standard_language(tag), written_as(tag)):
        if code is not None and code in available and in_its_script(tag, code):
            return code
    return None


def _standard_language(tag: str) -> str:
    """The tag's language as the registry now names it: Hebrew's old iw is he."""
    parsed = _parsed(tag)
    return (parsed.language if parsed else None) or tag.split("-")[0].lower()


def in_its_script(tag: str, language: str) -> bool:
    """Whether `language`'s words are in the script `tag` names, if it names one: ar-Latn
    (Arabic in Latin letters) reads no Arabic-script labels; ar-Aran (Nastaliq) does."""
    script = _written_script(tag)
    return script is None or same_script(script, _likely_script(language))


# Variants of a script, and the parts of a writing system, that read its words: Nastaliq is
# Arabic, Fraktur and Gaelic are Latin, kana are Japanese, Hangul Korean, the three Syriacs
# Syriac, Han with Bopomofo (and Bopomofo, written beside it) Han. Han (Hani) is read in
# Chinese (simplified or traditional), Japanese and Korean.
_SCRIPT_FAMILY = {
    "Aran": "Arab", "Latf": "Latn", "Latg": "Latn", "Hira": "Jpan", "Kana": "Jpan",
    "Hrkt": "Jpan", "Hang": "Kore", "Jamo": "Kore", "Syre": "Syrc", "Syrj": "Syrc",
    "Syrn": "Syrc", "Hanb": "Hani", "Bopo": "Hani",
}  # fmt: skip
_HAN = frozenset({"Hani", "Hanb", "Hans", "Hant", "Jpan", "Kore"})
# Scripts whose type has no italics (with the right-to-left ones): Han in every form, Han
# with Bopomofo and Bopomofo alone, Japanese, Korean and their parts.
_UPRIGHT = frozenset(_HAN | {"Bopo", "Hira", "Kana", "Hrkt", "Hang", "Jamo"})


def same_script(named: str | None, usual: str | None) -> bool:
    """Whether text in script `usual` is text in script `named` (ISO 15924 codes)."""
    if named is None or usual is None:
        return named == usual
    named, usual = _SCRIPT_FAMILY.get(named, named), _SCRIPT_FAMILY.get(usual, usual)
    return named == usual or ("Hani" in (named, usual) and {named, usual} <= _HAN)


def _written_script(tag: str) -> str | None:
    """The script a tag names itself (Arab in az-Arab), or None."""
    parsed = _parsed(tag)
    return parsed.script if parsed else None


@lru_cache(maxsize=512)
def _parsed(tag: str) -> langcodes.Language | None:
    """The tag as langcodes reads it, once for the script and the language both."""
    try:
        return langcodes.Language.get(tag)
    except (ValueError, LookupError):
        return None


@lru_cache(maxsize=512)
def locale_for(tag: str) -> Locale:
    """The Babel locale closest to `tag`: its own, its language's, its macrolanguage's
    (`written_as`: an Egyptian Arabic article's dates in Arabic, not English), else English."""
    sparse = None  # a locale CLDR gives no month names (Moroccan Arabic: "2026 M03 12")
    script = _written_script(tag)
    primary = tag.split("-")[0]
    macro = MACROLANGUAGES.get(primary.lower())
    # The macrolanguage with the tag's own script and region: cmn-Hant-TW is zh-Hant-TW
    # (zh alone is written in simplified characters, which the tag refuses).
    regional = macro + tag[len(primary) :] if macro and "-" in tag else None
    candidates = ((tag, "-"), (primary, "_"), (regional, "-"), (written_as(tag), "_"))
    for code, sep in candidates:
        if code is None:
            continue
        try:
            locale = Locale.parse(code, sep=sep)
        except (ValueError, UnknownLocaleError, TypeError):
            continue
        if script and not same_script(script, locale.script or _likely_script(locale.language)):
            # Not in the script the tag names: az-Arab's dates are not Azerbaijani's, in
            # Latin letters, nor ur-Latn's Urdu's (Babel reads ur-Latn as ur, quietly).
            continue
        if locale.months["format"]["wide"].get(3, "M03") != "M03":
            return locale
        sparse = sparse or locale
    return sparse or Locale("en")


@lru_cache(maxsize=512)
def quotation_marks(tag: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The marks that open and close a quotation in `tag`'s language, then those of a
    quotation inside one: CLDR's (« » in French, „ “ in German, 「 」 in Japanese), from
    WeasyPrint's table, looked up by the locale (language, script, region); plain text
    and the PDF (pdf_renderer.with_quotation_marks) both quote so."""
    from weasyprint.text.constants import LANG_QUOTES  # loaded by the app; not by the core

    locale = locale_for(tag)  # Egyptian Arabic's are Arabic's
    language = locale.language
    keys = (f"{language}_{locale.script}", f"{language}_{locale.territory}", language)
    opening, closing = LANG_QUOTES[next((key for key in keys if key in LANG_QUOTES), None)]
    return (opening[0], closing[0]), (opening[-1], closing[-1])


def script_of(tag: str) -> str | None:
    """The script `tag` is written in: the one it names, else its language's usual one."""
    return _written_script(tag) or _likely_script(tag.split("-")[0].lower())


@lru_cache(maxsize=512)
def sets_italics(tag: str) -> bool:
    """Whether the language's type has italics: Arabic, Hebrew and the other right-to-left
    scripts, and Han, kana and Hangul (Chinese in any of its languages, Cantonese too,
    Japanese, Korean) do not: a browser slants their upright faces."""
    if direction_of(tag) == "rtl":
        return False
    return script_of(tag) not in _UPRIGHT


@lru_cache(maxsize=512)
def direction_of(tag: str) -> str:
    """ "rtl" for right-to-left languages and scripts, otherwise "ltr"."""
    parsed = langcodes.Language.get(tag)
    if parsed.script:
        return "rtl" if parsed.script in _RTL_SCRIPTS else "ltr"
    # A tag without a script is written in its language's usual one there (CLDR's likely
    # subtags: pa-PK is pa-Arab-PK, ug-KZ ug-Cyrl-KZ; arz, Egyptian Arabic, arz-Arab-EG),
    # which Babel often has no locale for; a language CLDR has none for, in its
    # macrolanguage's (acm, Iraqi Arabic: ar), unless the list above knows better.
    regional = f"{parsed.language}-{parsed.territory}"
    if parsed.territory and regional in LIKELY_SUBTAGS:
        script = _likely_script(regional)
        if script:
            return "rtl" if script in _RTL_SCRIPTS else "ltr"
    if parsed.language in _RTL_LANGUAGES:
        return "rtl"
    script = _likely_script(parsed.language)
    if script:
        return "rtl" if script in _RTL_SCRIPTS else "ltr"
    try:
        locale = Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError, TypeError):
        return "ltr"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def _likely_script(language: str | None) -> str | None:
    """The script CLDR's likely subtags give `language` (or language-REGION) or its
    macrolanguage; None when neither has any (langcodes would then guess Latin, as it does
    for any unknown tag)."""
    for code in (language, MACROLANGUAGES.get(language or "")):
        if code and code in LIKELY_SUBTAGS:
            try:
                return langcodes.Language.get(code).maximize().script
            except (ValueError, LookupError, KeyError):
                return None
    return None
