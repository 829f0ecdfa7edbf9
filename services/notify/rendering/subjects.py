"""Email subjects, and the typography shared by subjects and email bodies (spec §9.3).

Notify makes quotes smart, turns spaced hyphens into en dashes and removes stray spaces before
commas and full stops, in subjects and in both parts of an email body. These helpers work on
plain text, never on HTML or URLs: the email renderers call them on each run of text and pass
the character before it, so quotes that open or close around a link still come out right.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from services.notify.rendering.placeholders import ListStyle, Personalisation, fill

ZERO_WIDTH_CHARACTERS = "\u180e\u200b\u200c\u200d\u2060\ufeff"
"""Invisible characters that are dropped wherever whitespace is normalised."""

# The look-behinds make each run of spaces one attempt, so long runs cost linear time.
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<![ \t])[ \t]+([,.])")
_SPACED_HYPHENS = re.compile(r"(?<!\s)\s+[-–—]{1,3}\s+")
_DECADE = re.compile(r"'\d\ds\b")
_EMAIL_ADDRESS = re.compile(r"(?<![\w.!#$%&‘’*+/=?^`{|}~-])[\w.!#$%&‘’*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_OPENING_CONTEXT = frozenset("([{‘“–—-/")
_ZERO_WIDTH = re.compile(f"[{ZERO_WIDTH_CHARACTERS}]")


def _opens(previous: str) -> bool:
    """Whether a quote after ``previous`` (a character, or "" at the start) opens."""
    return not previous or previous.isspace() or previous in _OPENING_CONTEXT


def smart_quotes(text: str, before: str = "") -> str:
    """Curl straight quotes: ``"a"`` → ``“a”``; ``it's`` → ``it’s``; ``'90s`` → ``’90s``.

    ``before`` is the text that precedes ``text`` in the same line of output, if any.
    """
    if "'" not in text and '"' not in text:
        return text
    out: list[str] = []
    previous = before[-1:]
    for index, char in enumerate(text):
        if char == '"':
            char = "“" if _opens(previous) else "”"
        elif char == "'":
            following = text[index + 1 : index + 2]
            if previous.isalnum() or _DECADE.match(text, index):
                char = "’"
            elif _opens(previous) and following and not following.isspace():
                char = "‘"
            else:
                char = "’"
        out.append(char)
        previous = char
    return "".join(out)


def _straighten_email_addresses(text: str) -> str:
    """Undo smart quotes inside email addresses such as ``o'brien@example.com``."""
    if "@" not in text:
        return text
    return _EMAIL_ADDRESS.sub(lambda match: match.group(0).replace("‘", "'").replace("’", "'"), text)


def nice_typography(text: str, before: str = "") -> str:
    """Notify's typography for one run of plain text (see the module docstring)."""
    if " ," in text or " ." in text or "\t" in text:
        text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    text = _straighten_email_addresses(smart_quotes(text, before))
    if "-" in text or "–" in text or "—" in text:
        text = _SPACED_HYPHENS.sub(" – ", text)
    return text


def normalise_whitespace(text: str) -> str:
    """One line: invisible characters dropped, every run of whitespace made a single space."""
    return " ".join(_ZERO_WIDTH.sub("", text).split())


def render_subject(subject: str, personalisation: Mapping[str, object] | None) -> str:
    """A subject as sent: placeholders filled (lists as ``a, b and c``), typography, one line.

    The result is plain text; escape it before putting it in HTML.
    """
    filled = fill(subject, Personalisation.of(personalisation), lists=ListStyle.INLINE)
    return normalise_whitespace(nice_typography(filled))
