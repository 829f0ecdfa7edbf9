"""Text messages: normalising, sanitising, encoding and fragment counting (spec §9.5, §18.5).

A text message is billed per fragment, and the fragment size depends on the encoding: GSM-7
packs 160 characters into one message (153 per part when split), UCS-2 only 70 (67). So the
content is first made to fit GSM-7 where it can: accents are dropped, smart punctuation is
straightened and anything else becomes ``?``. The Welsh letters that GSM-7 lacks are kept, and
they switch the whole message to UCS-2. A service with the ``sms_unicode`` option (§18.5)
keeps every character and pays the UCS-2 rate when it uses any outside GSM-7.

Lengths are UTF-16 code units, which is what a UCS-2 (in practice UTF-16) message carries.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.notify.rendering.placeholders import ListStyle, Personalisation, fill
from services.notify.rendering.subjects import ZERO_WIDTH_CHARACTERS

SMS_CHARACTER_LIMIT = 918
"""Longest content allowed, counted without the prefix (§9.5 step 4, §4.3)."""

GSM_EXTENSION_CHARACTERS = frozenset("^{}\\[~]|€")
"""Characters GSM-7 sends as two septets (an escape, then the character)."""

GSM_CHARACTERS = (
    frozenset(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    | GSM_EXTENSION_CHARACTERS
)
"""The GSM 03.38 default alphabet and its extension table (the escape code itself excluded)."""

WELSH_NON_GSM_CHARACTERS = frozenset("ÀÁÂÈÊËÌÍÎÏÒÓÔÙÚÛÝáâêëíîïóôúûýÿŴŵŶŷŸẀẁẂẃẄẅỲỳ")
"""Welsh letters kept although GSM-7 lacks them; any of them makes the message UCS-2."""

_REPLACEMENTS = {
    **dict.fromkeys("‘’‚‛′", "'"),
    **dict.fromkeys("“”„‟″", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "…": "...",
    "Ł": "L",
    "ł": "l",
    "\t": " ",
    **dict.fromkeys(ZERO_WIDTH_CHARACTERS + "\u2028\u2029", ""),
}
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<![ \t])[ \t]+([,.])")
_MULTIPLE_BLANK_LINES = re.compile(r"\n{3,}")
_ZERO_WIDTH = re.compile(f"[{ZERO_WIDTH_CHARACTERS}]")


class SmsEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


def _downgrade(char: str) -> str | None:
    """A GSM-7 stand-in for ``char`` (maybe several characters, maybe none), or ``None``.

    Letters with accents decompose canonically into a base letter and combining marks, so the
    base letter is used (``ç`` → ``c``); it is downgraded again if it is still not GSM-7.
    """
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    if unicodedata.category(char) == "Zs":
        return " "
    decomposition = unicodedata.decomposition(char)
    if not decomposition or decomposition.startswith("<"):
        return None
    base = chr(int(decomposition.split()[0], 16))
    return base if base in GSM_CHARACTERS or base in WELSH_NON_GSM_CHARACTERS else _downgrade(base)


def sanitise_character(char: str, *, unicode: bool = False) -> str:
    """One character as it will be sent (§9.5 step 2; with ``unicode``, §18.5)."""
    if char in GSM_CHARACTERS or char in WELSH_NON_GSM_CHARACTERS:
        return char
    if unicode:
        if char in _REPLACEMENTS and not _REPLACEMENTS[char].strip():
            return _REPLACEMENTS[char]  # invisible characters and tabs still go
        category = unicodedata.category(char)
        if category == "Zs":
            return " "
        return "?" if category in {"Cc", "Cs", "Co", "Cn"} else char
    replacement = _downgrade(char)
    return "?" if replacement is None else replacement


def sanitise(text: str, *, unicode: bool = False) -> str:
    """Every character of ``text`` through :func:`sanitise_character`."""
    if all(char in GSM_CHARACTERS for char in text):
        return text
    return "".join(sanitise_character(char, unicode=unicode) for char in text)


def normalise(text: str) -> str:
    """Whitespace as sent: no stray spaces, at most one blank line in a row, trimmed (§9.5 step 1).

    Each line's runs of whitespace become one space, spaces before ``,`` and ``.`` go, and
    three or more newlines become two.
    """
    lines = "\n".join(" ".join(line.split()) for line in _ZERO_WIDTH.sub("", text).splitlines())
    return _MULTIPLE_BLANK_LINES.sub("\n\n", _SPACE_BEFORE_PUNCTUATION.sub(r"\1", lines)).strip()


def utf16_length(text: str) -> int:
    """The number of UTF-16 code units: characters beyond U+FFFF count twice."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def encoding_of(text: str, *, unicode: bool = False) -> SmsEncoding:
    """UCS-2 if the (sanitised) text has a Welsh non-GSM character, or, with ``unicode``,
    any character outside GSM-7; otherwise GSM-7."""
    if unicode:
        return SmsEncoding.GSM7 if all(char in GSM_CHARACTERS for char in text) else SmsEncoding.UCS2
    return SmsEncoding.UCS2 if any(char in WELSH_NON_GSM_CHARACTERS for char in text) else SmsEncoding.GSM7


def fragment_count(text: str, *, unicode: bool = False) -> int:
    """Fragments for sanitised text, prefix included (§9.5 step 3)."""
    length = utf16_length(text)
    if encoding_of(text, unicode=unicode) is SmsEncoding.UCS2:
        return 1 if length <= 70 else math.ceil(length / 67)
    septets = length + sum(1 for char in text if char in GSM_EXTENSION_CHARACTERS)
    return 1 if septets <= 160 else math.ceil(septets / 153)


@dataclass(frozen=True, slots=True)
class RenderedSms:
    body: str
    """Filled, normalised and sanitised, without the prefix: the API's ``content.body``."""
    message: str
    """What the provider is sent: ``body`` with the ``<Service name>: `` prefix, if any."""
    fragment_count: int
    encoding: SmsEncoding
    character_count: int
    """UTF-16 units of ``body`` (no prefix, extension characters counted once), for §4.3."""

    @property
    def is_empty(self) -> bool:
        return self.character_count == 0

    @property
    def is_too_long(self) -> bool:
        return self.character_count > SMS_CHARACTER_LIMIT


def render_sms(
    content: str,
    personalisation: Mapping[str, object] | None = None,
    *,
    prefix: str | None = None,
    unicode: bool = False,
) -> RenderedSms:
    """Render an SMS template; ``prefix`` is the service name when the service has ``prefix_sms``.

    Call :func:`~services.notify.rendering.placeholders.missing` first: missing values are
    left as ``((name))``. List values are written ``a, b and c``.
    """
    filled = fill(content, Personalisation.of(personalisation), lists=ListStyle.INLINE)
    body = sanitise(normalise(filled), unicode=unicode).strip()
    message = body
    if prefix and (name := sanitise(normalise(prefix), unicode=unicode).strip()):
        message = f"{name}: {body}".rstrip()
    encoding = encoding_of(message, unicode=unicode)
    return RenderedSms(
        body=body,
        message=message,
        fragment_count=fragment_count(message, unicode=unicode),
        encoding=encoding,
        character_count=utf16_length(body),
    )
