"""Emails: the filled Markdown body, its plain-text and HTML parts, and the subject (spec §9.3).

The Markdown is parsed once (``markdown.py``) and the tree is written out three ways: plain
text, an HTML body, and the preheader (the hidden line mail clients show after the subject).
Every piece of text is escaped as it is written into HTML and every URL is percent-encoded and
quoted, so nothing in a template or a personalisation value can add markup; the only HTML in
the output is the fixed set of tags below.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from string import Template
from urllib.parse import quote

from services.notify.rendering.markdown import (
    Block,
    Heading,
    Inline,
    Inset,
    Link,
    ListBlock,
    Paragraph,
    Text,
    parse,
)
from services.notify.rendering.placeholders import ListStyle, Personalisation, fill
from services.notify.rendering.subjects import nice_typography, render_subject

EMAIL_MAX_BYTES = 2_000_000
"""The plain-text part may not be longer than this in UTF-8 (§4.3, §5.3)."""

PREHEADER_LENGTH = 256
RULE_WIDTH = 65
UNSUBSCRIBE_LINK_TEXT = "Unsubscribe from these emails"

_GOVUK = re.compile(r"(^|\s)([#*^]?)(GOV)\.(UK)(?![/?#])", re.IGNORECASE)
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_LINKABLE_SCHEME = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)
_URL_SAFE = "-._~:/?#[]@!$&'()*+,;=%"

_TEXT_STYLE = "Margin: 0 0 20px 0; font-size: 19px; line-height: 25px; color: #0b0c0c;"
_HEADING_STYLE = "Margin: 0 0 15px 0; padding: 10px 0 0 0; font-weight: bold; color: #0b0c0c;"
_LINK_STYLE = "word-wrap: break-word; color: #1d70b8;"
_LIST_ITEM_STYLE = "Margin: 5px 0 5px 0; padding: 0 0 0 5px; font-size: 19px; line-height: 25px; color: #0b0c0c;"
_INSET_STYLE = (
    "Margin: 0; padding: 15px 0 0.1px 15px; border-left: 10px solid #b1b4b6; font-size: 19px; line-height: 25px;"
)
_RULE_HTML = '<hr style="border: 0; height: 1px; background: #b1b4b6; Margin: 30px 0 30px 0;">'
_BANNER = Template(
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
    'style="border-collapse: collapse; width: 100%;">\n<tr>\n'
    '<td bgcolor="${colour}" style="background: ${colour}; padding: 15px 20px; font-family: Arial, Helvetica, '
    'sans-serif; font-size: 24px; line-height: 30px; font-weight: bold; color: ${text_colour};">${name}</td>\n'
    "</tr>\n</table>\n"
)
_LAYOUT = Template((files(__package__) / "templates" / "email_layout.html").read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class EmailBrand:
    """A coloured banner across the top of the HTML email, naming the service."""

    colour: str = "#1d70b8"
    name: str | None = None
    """The banner text; the service name when not given."""
    text_colour: str = "#ffffff"

    def __post_init__(self) -> None:
        for colour in (self.colour, self.text_colour):
            if not _COLOUR.fullmatch(colour):
                raise ValueError(f"not a hex colour: {colour!r}")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    body: str
    """The Markdown source with placeholders filled: the API's ``content.body``."""
    subject: str
    """Plain text, one line."""
    plain_text: str
    html: str
    """The complete HTML document to send."""
    html_body: str
    """The HTML of the body alone: the template preview's ``html`` (§7)."""
    preheader: str
    is_empty: bool
    """True only when the template starts and ends with a placeholder and fills to nothing."""

    @property
    def size_in_bytes(self) -> int:
        """The UTF-8 size of the plain-text part, for the §4.3 "too long" message (without the final newline
        the renderer ends the part with, so a 2,000,000-byte message is not counted as 2,000,001)."""
        return len(self.plain_text.rstrip("\n").encode("utf-8", errors="surrogatepass"))

    @property
    def is_too_long(self) -> bool:
        return self.size_in_bytes > EMAIL_MAX_BYTES


def unlink_govuk(text: str) -> str:
    """Put a zero-width space in ``GOV.UK`` so mail clients do not make it a link."""
    return _GOVUK.sub("\\1\\2\\3.\u200b\\4", text)


def append_unsubscribe_link(markdown: str, url: str) -> str:
    """Add a rule and an unsubscribe link to the end of a body (§9.3, §13.3)."""
    destination = quote(url.strip(), safe=_URL_SAFE, errors="replace").replace("<", "%3C").replace(">", "%3E")
    return f"{markdown.rstrip()}\n\n---\n\n[{UNSUBSCRIBE_LINK_TEXT}](<{destination}>)"


def is_empty(content: str, body: str) -> bool:
    """Notify's "empty" rule for email and letter templates (§9.3).

    Only a template that starts and ends with a placeholder can fill to nothing; any other
    template has text of its own, so it is never empty whatever the personalisation.
    """
    content = content.strip()
    if not content:
        return True
    return content.startswith("((") and content.endswith("))") and not body.strip()


# --- plain text ----------------------------------------------------------------------------


def _plain_inline(content: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in content:
        before = parts[-1] if parts else ""
        if isinstance(node, Text):
            parts.append(nice_typography(node.text, before))
        elif isinstance(node, Link):
            title = f" ({node.title})" if node.title else ""
            parts.append(node.url if node.auto else f"{node.text}{title}: {node.url}")
        else:
            parts.append("\n")
    return "".join(parts)


def _plain_block(block: Block) -> str:
    if isinstance(block, Heading):
        underline = "=" if block.level == 1 else "-"
        return f"\n\n\n{_plain_inline(block.content)}\n{underline * RULE_WIDTH}"
    if isinstance(block, Paragraph):
        return f"\n\n{_plain_inline(block.content)}"
    if isinstance(block, ListBlock):
        markers = [f"{number}." if block.ordered else "•" for number in range(1, len(block.items) + 1)]
        items = "".join(f"\n{marker} {_plain_inline(item)}" for marker, item in zip(markers, block.items, strict=True))
        return f"\n{items}"
    if isinstance(block, Inset):
        return "".join(_plain_block(inner) for inner in block.blocks)
    return "\n\n" + ("=-" * RULE_WIDTH)[:RULE_WIDTH]


def plain_text(blocks: tuple[Block, ...]) -> str:
    """The plain-text part: headings underlined, ``•`` bullets, links as ``text: url``."""
    return "".join(_plain_block(block) for block in blocks).lstrip() + "\n"


# --- HTML ----------------------------------------------------------------------------------


def _href(url: str) -> str:
    """A URL safe inside a double-quoted attribute; other schemes are made ``http://`` links."""
    if not _LINKABLE_SCHEME.match(url):
        url = f"http://{url}"
    return html.escape(quote(url, safe=_URL_SAFE, errors="replace"))


def _html_inline(content: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    before = ""
    for node in content:
        if isinstance(node, Text):
            text = nice_typography(node.text, before)
            parts.append(html.escape(text, quote=False))
        elif isinstance(node, Link):
            text = node.text
            title = f' title="{html.escape(node.title)}"' if node.title else ""
            parts.append(
                f'<a style="{_LINK_STYLE}" href="{_href(node.url)}"{title}>{html.escape(text, quote=False)}</a>'
            )
        else:
            text = "\n"
            parts.append("<br>")
        before = text or before
    return "".join(parts)


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        tag, size = ("h2", "font-size: 27px; line-height: 35px;") if block.level == 1 else ("h3", "font-size: 19px;")
        return f'<{tag} style="{_HEADING_STYLE} {size}">{_html_inline(block.content)}</{tag}>'
    if isinstance(block, Paragraph):
        return f'<p style="{_TEXT_STYLE}">{_html_inline(block.content)}</p>'
    if isinstance(block, ListBlock):
        tag, kind = ("ol", "decimal") if block.ordered else ("ul", "disc")
        items = "".join(f'<li style="{_LIST_ITEM_STYLE}">{_html_inline(item)}</li>' for item in block.items)
        return (
            '<table role="presentation" style="padding: 0 0 20px 0;"><tr>'
            '<td style="font-family: Arial, Helvetica, sans-serif;">'
            f'<{tag} style="Margin: 0 0 0 20px; padding: 0; list-style-type: {kind};">{items}</{tag}>'
            "</td></tr></table>"
        )
    if isinstance(block, Inset):
        inner = "\n".join(_html_block(child) for child in block.blocks)
        return f'<div style="Margin: 0 0 20px 0;"><blockquote style="{_INSET_STYLE}">{inner}</blockquote></div>'
    return _RULE_HTML


def html_body(blocks: tuple[Block, ...]) -> str:
    """The HTML of the body, with inline styles (mail clients ignore style sheets)."""
    return "\n".join(_html_block(block) for block in blocks)


def _preheader_parts(blocks: tuple[Block, ...]) -> list[str]:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Heading | Paragraph):
            parts.append(_preheader_inline(block.content))
        elif isinstance(block, ListBlock):
            parts.extend(_preheader_inline(item) for item in block.items)
        elif isinstance(block, Inset):
            parts.extend(_preheader_parts(block.blocks))
    return parts


def _preheader_inline(content: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in content:
        if isinstance(node, Text):
            parts.append(nice_typography(node.text, parts[-1] if parts else ""))
        else:
            parts.append(node.text if isinstance(node, Link) else " ")
    return "".join(parts)


def preheader(blocks: tuple[Block, ...]) -> str:
    """The first 256 characters of the body's text, on one line (links as their text)."""
    text = " ".join(" ".join(_preheader_parts(blocks)).split())
    return text[:PREHEADER_LENGTH].strip()


def html_document(
    body: str, *, subject: str, preheader_text: str, banner_name: str | None, brand: EmailBrand | None
) -> str:
    """The full HTML email around an already-rendered ``body``; other arguments are plain text."""
    banner = ""
    if brand is not None:
        banner = _BANNER.substitute(
            colour=brand.colour, text_colour=brand.text_colour, name=html.escape(banner_name or "", quote=False)
        )
    return _LAYOUT.substitute(
        title=html.escape(subject, quote=False),
        preheader=html.escape(preheader_text, quote=False),
        banner=banner,
        body=body,
    )


def render_email(
    content: str,
    subject: str,
    personalisation: Mapping[str, object] | None = None,
    *,
    service_name: str | None = None,
    unsubscribe_url: str | None = None,
    brand: EmailBrand | None = None,
) -> RenderedEmail:
    """Render an email template with its personalisation.

    Call :func:`~services.notify.rendering.placeholders.missing` first: missing values are
    left as ``((name))``. With ``unsubscribe_url`` the plain-text and HTML parts end with an
    unsubscribe link; ``body`` (the API's copy of the Markdown) does not include it.
    """
    values = Personalisation.of(personalisation)
    body = fill(content, values, lists=ListStyle.MARKDOWN).strip()
    rendered_subject = render_subject(subject, values)
    parts = render_filled_email(
        body, rendered_subject, service_name=service_name, unsubscribe_url=unsubscribe_url, brand=brand
    )
    return RenderedEmail(
        body=body,
        subject=rendered_subject,
        plain_text=parts.plain_text,
        html=parts.html,
        html_body=parts.html_body,
        preheader=parts.preheader,
        is_empty=is_empty(content, body),
    )


@dataclass(frozen=True, slots=True)
class EmailParts:
    """The two parts of an email as sent, and the pieces of its HTML part a preview shows."""

    plain_text: str
    html: str
    html_body: str
    preheader: str


def render_filled_email(
    body: str,
    subject: str,
    *,
    service_name: str | None = None,
    unsubscribe_url: str | None = None,
    brand: EmailBrand | None = None,
) -> EmailParts:
    """The parts of an email whose placeholders were filled at send time (the stored ``body`` and ``subject``).

    The delivery worker sends what the API answered with: the notification row keeps the filled Markdown and the
    subject, so nothing here fills placeholders again (a value that looks like ``((name))`` stays as it is).
    """
    source = append_unsubscribe_link(body, unsubscribe_url) if unsubscribe_url else body
    blocks = parse(unlink_govuk(source))
    body_html = html_body(blocks)
    preheader_text = preheader(blocks)
    document = html_document(
        body_html,
        subject=subject,
        preheader_text=preheader_text,
        banner_name=(brand.name if brand else None) or service_name,
        brand=brand,
    )
    return EmailParts(plain_text=plain_text(blocks), html=document, html_body=body_html, preheader=preheader_text)
