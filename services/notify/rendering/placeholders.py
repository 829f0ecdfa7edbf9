"""Placeholders in template text: ``((name))`` and ``((name??text))`` (spec §9.1, §9.2).

Every channel fills placeholders the same way (email and SMS here, letters in ``letters.py``),
so the rules live in one place: how names match, how values become text, how lists are laid
out, when optional text shows, and which names are missing.

Filling is one regex pass over the template, so a value that itself contains ``((x))`` is
never read again as a placeholder. A missing value (absent or null) leaves the placeholder as
written: callers check :func:`missing` first and refuse the request (§4.3), so a left-over
placeholder only ever shows in previews of incomplete data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")
"""``((`` + one or more characters other than ``(`` and ``)`` + ``))`` (§9.1)."""

TRUTHY_VALUES = frozenset({"yes", "y", "true", "t", "1", "include", "show"})
"""Values that show the text of ``((name??text))`` (§9.2), compared case-insensitively."""

_NAME_NOISE = str.maketrans("", "", " _-")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ZERO_WIDTH = re.compile("[\u180e\u200b\u200c\u200d\u2060\ufeff]")


def normalise_name(name: str) -> str:
    """The form names are compared in: case, spaces, underscores and hyphens are ignored.

    ``((First name))`` is therefore filled by ``first_name``, ``FIRSTNAME`` or ``first-name``.
    """
    return name.translate(_NAME_NOISE).lower()


class Personalisation(Mapping[str, object]):
    """A read-only mapping whose keys match as placeholder names do (see :func:`normalise_name`).

    Iteration yields the keys as the caller spelt them. When two keys normalise to the same
    name, the later one wins, as it would in a plain ``dict`` built from the same items.
    """

    __slots__ = ("_keys", "_values")

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        self._values: dict[str, object] = {}
        self._keys: dict[str, str] = {}
        for key, value in (values or {}).items():
            normalised = normalise_name(str(key))
            self._values[normalised] = value
            self._keys[normalised] = key

    @classmethod
    def of(cls, values: Mapping[str, object] | None) -> Personalisation:
        """Wrap ``values`` unless they already are a :class:`Personalisation`."""
        return values if isinstance(values, Personalisation) else cls(values)

    def __getitem__(self, key: str) -> object:
        return self._values[normalise_name(key)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and normalise_name(key) in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Personalisation({dict(self.items())!r})"


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One placeholder; ``body`` is the text between ``((`` and ``))``."""

    body: str

    @property
    def name(self) -> str:
        """Everything before the first ``??`` (the whole body when there is none)."""
        return self.body.split("??", 1)[0]

    @property
    def is_conditional(self) -> bool:
        return "??" in self.body

    @property
    def conditional_text(self) -> str:
        """Everything after the first ``??``; it may itself contain ``??``."""
        return self.body.split("??", 1)[1] if self.is_conditional else ""


class ListStyle(Enum):
    """How a list value is written into text (§9.1)."""

    MARKDOWN = "markdown"
    """Email and letter bodies: a blank line, then one ``* item`` line per item."""
    INLINE = "inline"
    """SMS and subjects: ``a, b and c``."""


def to_text(value: object) -> str:
    """``str(value)``, with lone UTF-16 surrogates (possible in JSON) replaced by U+FFFD.

    A lone surrogate cannot be encoded as UTF-8 or UTF-16, so letting one through would make
    size checks, fragment counts and delivery fail far from the request that carried it.
    """
    text = value if isinstance(value, str) else str(value)
    return _LONE_SURROGATE.sub("\ufffd", text)


def list_items(values: Sequence[object]) -> list[str]:
    """The items of a list value as text; null and blank items are dropped."""
    items = (_ZERO_WIDTH.sub("", to_text(item)).strip() for item in values if item is not None)
    return [item for item in items if item]


def format_inline_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``; empty for no items."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def format_markdown_list(items: Sequence[str]) -> str:
    """A blank line, then ``* item`` lines, so the list starts its own Markdown block."""
    if not items:
        return ""
    return "\n\n" + "\n".join(f"* {item}" for item in items)


def is_truthy(value: object) -> bool:
    """Whether ``value`` shows the text of an optional-text placeholder (§9.2)."""
    if not value:
        return False
    return to_text(value).lower() in TRUTHY_VALUES


def format_value(
    value: object,
    lists: ListStyle = ListStyle.MARKDOWN,
    escape: Callable[[str], str] | None = None,
) -> str:
    """One (non-null) value as text. ``escape`` is applied to each piece of value text."""
    protect = escape or (lambda text: text)
    if isinstance(value, list | tuple):
        items = [protect(item) for item in list_items(value)]
        return format_markdown_list(items) if lists is ListStyle.MARKDOWN else format_inline_list(items)
    return protect(to_text(value))


def fill(
    text: str,
    personalisation: Mapping[str, object] | None,
    *,
    lists: ListStyle = ListStyle.MARKDOWN,
    escape: Callable[[str], str] | None = None,
) -> str:
    """Replace every placeholder that has a value; leave the others as written.

    ``escape`` protects values only (e.g. ``html.escape`` when the result is HTML). Template
    text is the caller's to escape, which it can do before filling: escaping leaves ``((…))``
    intact, and the text of ``((name??text))`` is template text, so it is escaped with it.
    """
    values = Personalisation.of(personalisation)

    def replace(match: re.Match[str]) -> str:
        placeholder = Placeholder(match.group(1))
        value = values.get(placeholder.name)
        if value is None:
            return match.group(0)
        if placeholder.is_conditional:
            return placeholder.conditional_text if is_truthy(value) else ""
        return format_value(value, lists, escape)

    return PLACEHOLDER.sub(replace, text)


def placeholders(*texts: str | None) -> list[str]:
    """Placeholder names in order of first appearance, one per normalised name.

    Each name is kept as first written. Pass the subject before the body, as Notify lists
    them that way. This is the template object's ``personalisation`` map (§7).
    """
    seen: set[str] = set()
    names: list[str] = []
    for text in texts:
        for match in PLACEHOLDER.finditer(text or ""):
            name = Placeholder(match.group(1)).name
            key = normalise_name(name)
            if key not in seen:
                seen.add(key)
                names.append(name)
    return names


def missing(template_text: str | Sequence[str | None], personalisation: Mapping[str, object] | None) -> list[str]:
    """Names with no value (absent or null), for ``Missing personalisation: a, b`` (§4.3).

    ``template_text`` is one text or several (subject first, then body).
    """
    texts = [template_text] if isinstance(template_text, str) else list(template_text)
    values = Personalisation.of(personalisation)
    return [name for name in placeholders(*texts) if values.get(name) is None]


def template_personalisation(content: str, subject: str | None = None) -> dict[str, dict[str, bool]]:
    """The template object's ``personalisation`` map: every placeholder is required (§7)."""
    return {name: {"required": True} for name in placeholders(subject, content)}


# --- sanitise_content_for (§5.3) -------------------------------------------------------------

_URL_REST = r"""(?:[^\s<>]*[^\s<>.,:;!?'")\]])?"""  # the rest of a URL, less trailing punctuation
_URL = re.compile(
    # a scheme, a www. host, or a domain followed by a path, query or fragment; then the rest
    r"(?:\b(?:https?|ftp)://|\bwww\.|(?<![\w.-])(?:[a-z0-9-]+\.)+[a-z]{2,63}[/?#])" + _URL_REST,
    re.IGNORECASE,
)
_BARE_DOMAIN = re.compile(r"(?<![@\w.-])(?:[a-z0-9-]+\.)+[a-z]{2,63}\b(?![@\w-]|\.[\w-])", re.IGNORECASE)
_MARKDOWN_SPECIAL = re.compile(r"([`*_(){}\[\]<>#+\-.!|\\])")


def sanitise_text(text: str) -> str:
    """Make untrusted text inert inside an email's Markdown.

    URLs are removed; a bare domain (``gov.uk``) is broken as ``gov. uk`` so that mail clients
    do not turn it into a link; then every Markdown-significant character is backslash-escaped
    so the text shows literally instead of becoming a heading, list, link or rule.
    """
    text = _URL.sub("", text)
    text = _BARE_DOMAIN.sub(lambda match: match.group(0).replace(".", ". "), text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def sanitise_content_for(
    personalisation: Mapping[str, object] | None,
    keys: Sequence[str] | None,
) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """Apply :func:`sanitise_text` to the values of ``keys`` (matched as placeholder names are).

    Returns the personalisation to render with, and the response's ``sanitised_content``:
    ``{key: {"unsanitised": original, "sanitised": new}}`` for each value that changed. List
    values are sanitised item by item and stay lists; null values and null items are left alone.
    """
    values = dict(personalisation or {})
    wanted = {normalise_name(key) for key in keys or ()}
    changes: dict[str, dict[str, object]] = {}
    for key, value in values.items():
        if value is None or normalise_name(key) not in wanted:
            continue
        sanitised: object
        if isinstance(value, list | tuple):
            texts = [None if item is None else to_text(item) for item in value]
            cleaned = [None if text is None else sanitise_text(text) for text in texts]
            changed = cleaned != texts
            sanitised = cleaned
        else:
            text = to_text(value)
            sanitised = sanitise_text(text)
            changed = sanitised != text
        if changed:
            values[key] = sanitised
            changes[key] = {"unsanitised": value, "sanitised": sanitised}
    return values, changes
