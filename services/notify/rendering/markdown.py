"""Notify's small Markdown dialect, parsed into a tree of blocks (spec §9.3, §9.4).

Why a purpose-built parser rather than markdown-it-py or mistune: Notify's dialect is not
CommonMark with some rules switched off. ``^`` marks inset text, ``•`` is a bullet, ``#heading``
needs no space, emphasis, code spans and raw HTML are shown literally, every newline is a hard
break, ``+`` is not a bullet, tables and footnotes disappear, and a list may start straight
after a line of text (which is how list values arrive: ``Items:\\n\\n* a``). Getting a CommonMark
engine to do exactly that means replacing its block rules one by one (as Notify itself does with
monkey-patches); the dialect is small enough that a line-based parser of a few hundred lines is
easier to get exactly right, and to audit, because it produces no HTML: the renderers in
``email.py`` (and the letter renderer) escape every piece of text they write.

Blocks are found line by line; inline content is only links (``[text](url)``, ``<url>`` and
bare ``http(s)://`` URLs), hard line breaks and backslash escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class LineBreak:
    pass


@dataclass(frozen=True, slots=True)
class Link:
    """A link; ``auto`` links (bare or ``<url>``) show their URL as their text."""

    text: str
    url: str
    title: str | None = None
    auto: bool = False


Inline = Text | LineBreak | Link


@dataclass(frozen=True, slots=True)
class Heading:
    """``#`` (level 1) or ``##`` (level 2); deeper levels are parsed as paragraphs."""

    level: int
    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Paragraph:
    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class ListBlock:
    """A flat list; nested markers start new items at the same level."""

    ordered: bool
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True, slots=True)
class Inset:
    """Inset text (``^``): a grey-bordered box in HTML, plain text elsewhere."""

    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """``---`` or ``***``: a horizontal rule in email, a page break in letters."""


Block = Heading | Paragraph | ListBlock | Inset | Rule

# --- block grammar -------------------------------------------------------------------------

_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?!#)(.*)$")
_INSET = re.compile(r"^ {0,3}\^[ \t]?(.*)$")
_BULLET = re.compile(r"^[ \t]*(?:[*-][ \t]+|•[ \t]*)(\S.*)$")
_ORDERED = re.compile(r"^[ \t]*(\d{1,9})\.[ \t]+(\S.*)$")
_TABLE_DELIMITER_CELL = re.compile(r":?-+:?")
_FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^[^\]\s]{1,100}\]:")


def _list_marker(line: str) -> tuple[bool, str] | None:
    """``(ordered, item text)`` if ``line`` starts a list item."""
    if match := _BULLET.match(line):
        return False, match.group(1)
    if match := _ORDERED.match(line):
        return True, match.group(2)
    return None


def _starts_table(lines: list[str], index: int) -> bool:
    """A header row with ``|`` followed by a delimiter row such as ``| --- | :-: |``."""
    if "|" not in lines[index] or index + 1 >= len(lines) or "|" not in lines[index + 1]:
        return False
    cells = lines[index + 1].strip().removeprefix("|").removesuffix("|").split("|")
    return all(_TABLE_DELIMITER_CELL.fullmatch(cell.strip()) for cell in cells)


def _interrupts_paragraph(lines: list[str], index: int, insets: bool) -> bool:
    """Whether ``lines[index]`` ends the paragraph above it and starts a new block."""
    line = lines[index]
    if _RULE.match(line) or _HEADING.match(line) or _FOOTNOTE_DEFINITION.match(line):
        return True
    if insets and _INSET.match(line):
        return True
    if _BULLET.match(line):
        return True
    ordered = _ORDERED.match(line)
    return (ordered is not None and int(ordered.group(1)) == 1) or _starts_table(lines, index)


def parse(source: str) -> tuple[Block, ...]:
    """Parse Notify Markdown into blocks. Never raises; anything unrecognised is text."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return _parse_lines([line.rstrip() for line in lines], insets=True)


def _parse_lines(lines: list[str], *, insets: bool) -> tuple[Block, ...]:
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif _RULE.match(line):
            blocks.append(Rule())
            index += 1
        elif heading := _HEADING.match(line):
            blocks.append(_heading(len(heading.group(1)), heading.group(2)))
            index += 1
        elif _starts_table(lines, index):
            index += 2
            while index < len(lines) and "|" in lines[index] and lines[index].strip():
                index += 1
        elif _FOOTNOTE_DEFINITION.match(line):
            index += 1
            while index < len(lines) and lines[index].startswith(("  ", "\t")):
                index += 1
        elif insets and _INSET.match(line):
            index = _parse_inset(lines, index, blocks)
        elif marker := _list_marker(line):
            index = _parse_list(lines, index, marker[0], blocks, insets)
        else:
            start = index
            index += 1
            while index < len(lines) and lines[index].strip() and not _interrupts_paragraph(lines, index, insets):
                index += 1
            blocks.append(Paragraph(parse_inline("\n".join(part.strip() for part in lines[start:index]))))
    return tuple(block for block in blocks if not _is_blank(block))


def _heading(level: int, text: str) -> Block:
    text = text.strip()
    closed = text.rstrip("#")
    if closed != text and (not closed or closed[-1] in " \t"):
        text = closed.rstrip()  # an optional closing sequence: "## Title ##"
    content = parse_inline(text)
    return Heading(level, content) if level <= 2 else Paragraph(content)


def _parse_inset(lines: list[str], index: int, blocks: list[Block]) -> int:
    """Consecutive ``^`` lines, and text run on from them, form one inset.

    Blank lines between ``^`` lines stay inside it; a heading, rule, list or table that is not
    marked with ``^`` ends it (Notify carries on to the next blank line instead, which swallows
    a list typed straight after an inset).
    """
    inner: list[str] = []
    while index < len(lines):
        line = lines[index]
        if match := _INSET.match(line):
            inner.append(match.group(1))
        elif line.strip() and inner and inner[-1].strip() and not _interrupts_paragraph(lines, index, False):
            inner.append(line)  # text run on from the line above
        elif line.strip():
            break
        else:
            ahead = index
            while ahead < len(lines) and not lines[ahead].strip():
                ahead += 1
            if ahead >= len(lines) or not _INSET.match(lines[ahead]):
                break
            inner.extend([""] * (ahead - index))
            index = ahead
            continue
        index += 1
    blocks.append(Inset(_parse_lines(inner, insets=False)))
    return index


def _parse_list(lines: list[str], index: int, ordered: bool, blocks: list[Block], insets: bool) -> int:
    """Items of one kind; a blank line ends the list unless another item of that kind follows."""
    items: list[list[str]] = []
    while index < len(lines):
        line = lines[index]
        marker = _list_marker(line)
        if marker and marker[0] == ordered:
            items.append([marker[1].strip()])
        elif not line.strip():
            ahead = index
            while ahead < len(lines) and not lines[ahead].strip():
                ahead += 1
            following = _list_marker(lines[ahead]) if ahead < len(lines) else None
            if not following or following[0] != ordered:
                break
            index = ahead
            continue
        elif marker or _interrupts_paragraph(lines, index, insets):
            break
        else:
            items[-1].append(line.strip())
        index += 1
    blocks.append(ListBlock(ordered, tuple(parse_inline("\n".join(item)) for item in items)))
    return index


def _is_blank(block: Block) -> bool:
    if isinstance(block, Heading | Paragraph):
        return not plain_text(block.content).strip()
    if isinstance(block, Inset):
        return not block.blocks
    return False


# --- inline grammar ------------------------------------------------------------------------

_SPECIAL = re.compile(r"\\|!\[|\[|<|(?<![\w/])https?://")
_ESCAPABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BARE_URL = re.compile(r"""https?://[^\s<]*[^<.,:"')\]\s]""")
_ANGLE_URL = re.compile(r"<(https?://[^\s<>]+)>")
_FOOTNOTE_REFERENCE = re.compile(r"\[\^[^\]\s\[]{1,100}\]")
_LINK = re.compile(
    r"\[((?:\\.|[^\\\[\]]){0,1000})\]"  # [text]: escapes allowed, no nested brackets
    r"\([ \t]*"
    r"(?:<([^<>]{0,2048})>|((?:\\.|[^\s()\\]|\((?:\\.|[^\s()\\]){0,2048}\)){0,2048}))"  # (url or (<url>
    r"""(?:[ \t]+(?:"([^"]{0,500})"|'([^']{0,500})'))?"""  # optional "title"
    r"[ \t]*\)"
)


def parse_inline(source: str, *, links: bool = True) -> tuple[Inline, ...]:
    """Inline content; each ``\\n`` is a hard line break. ``links=False`` is for link text."""
    builder = _InlineBuilder()
    for number, line in enumerate(source.split("\n")):
        if number:
            builder.add(LineBreak())
        _parse_line(line, builder, links)
    return builder.build()


class _InlineBuilder:
    """Collects nodes, joining adjacent text once (repeated ``+=`` would be quadratic)."""

    def __init__(self) -> None:
        self._nodes: list[Inline] = []
        self._text: list[str] = []

    def text(self, text: str) -> None:
        self._text.append(text)

    def add(self, node: Inline) -> None:
        self._flush(trim=isinstance(node, LineBreak))
        self._nodes.append(node)

    def build(self) -> tuple[Inline, ...]:
        self._flush(trim=True)
        return tuple(self._nodes)

    def _flush(self, *, trim: bool) -> None:
        text = "".join(self._text)
        self._text.clear()
        if not self._nodes or isinstance(self._nodes[-1], LineBreak):
            text = text.lstrip()  # what removed images and footnotes leave at line starts...
        if trim:
            text = text.rstrip()  # ...and at line ends
        if text:
            self._nodes.append(Text(text))


def _parse_line(line: str, builder: _InlineBuilder, links: bool) -> None:
    """Scan from one special character to the next; everything between them is text."""
    position = 0
    while (special := _SPECIAL.search(line, position)) is not None:
        start = special.start()
        builder.text(line[position:start])
        token = special.group(0)
        position = special.end()
        if token == "\\":
            following = line[position : position + 1]
            if following and following in _ESCAPABLE:
                builder.text(following)
                position += 1
            else:
                builder.text("\\")
        elif token == "![":
            if image := _LINK.match(line, start + 1):
                position = image.end()  # images are removed
            else:
                builder.text("!")
                position = start + 1
        elif token == "[":
            position = _parse_bracket(line, start, builder, links)
        elif links and token == "<" and (angle := _ANGLE_URL.match(line, start)):
            builder.add(Link(angle.group(1), angle.group(1), auto=True))
            position = angle.end()
        elif links and token != "<" and (url := _BARE_URL.match(line, start)):
            builder.add(Link(url.group(0), url.group(0), auto=True))
            position = url.end()
        else:
            builder.text(token)
    builder.text(line[position:])


def _parse_bracket(line: str, start: int, builder: _InlineBuilder, links: bool) -> int:
    """A link, a footnote reference (dropped) or a literal ``[``; returns the next position."""
    if footnote := _FOOTNOTE_REFERENCE.match(line, start):
        return footnote.end()
    if links and (link := _link_at(line, start)):
        builder.add(link[0])
        return link[1]
    builder.text("[")
    return start + 1


def _link_at(line: str, start: int) -> tuple[Link, int] | None:
    """Parse ``[text](url "title")`` at ``start``; ``None`` if there is no link there.

    The grammar is one bounded regex (no nested brackets in the text, one level of balanced
    parentheses in the URL), so text that merely looks like the start of a link costs a
    bounded amount of work however long the line is.
    """
    match = _LINK.match(line, start)
    if match is None:
        return None
    text_source, angle_url, bare_url, double_title, single_title = match.groups()
    url = _UNESCAPE.sub(r"\1", angle_url if angle_url is not None else bare_url).strip()
    text = plain_text(parse_inline(text_source, links=False)).strip()
    title = double_title if double_title is not None else single_title
    return Link(text or url, url, title), match.end()


def plain_text(content: tuple[Inline, ...]) -> str:
    """Inline content as bare text: links as their text, line breaks as newlines."""
    return "".join(node.text if isinstance(node, Text | Link) else "\n" for node in content)
