"""Where things sit on a printed letter, which fonts draw them, and how letter markup splits into blocks.

The geometry follows GOV.UK Notify's letter specification (alphagov/notifications-template-preview,
`app/precompiled.py`), which is itself set by the window of the C5/DL envelopes its printer uses and
Royal Mail's clear-addressing guidance. All measurements are millimetres from the **top-left** corner of
an A4 portrait page, the way the specification states them; `Area.contains` converts from PDF points,
whose origin is the bottom-left corner.

| Area | Left–right | Top–bottom | What goes there |
|---|---|---|---|
| border (printable area) | 15–195 | 5–292 | nothing is drawn outside it |
| logo | 15–125 | 5–30 | the service's logo |
| contact block | 125–195 | 5–95 | the service's contact details, then the date |
| address window | 24.6–120 | 39.5–66.3 | the recipient's address, what the envelope window shows |
| body, page 1 | 24.6–190 | 95–277 | subject and content |
| body, later pages | 24.6–190 | 20–277 | content |
| page number | centred | baseline at 287 | `Page n of m` |

Keeping these in one place matters because two sides depend on them: rendering must put the address inside
the window, and precompiled validation must read it from the same rectangle.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, KeepInFrame, Spacer
from reportlab.platypus import Paragraph as ParagraphFlowable

A4_WIDTH_MM = 210.0
A4_HEIGHT_MM = 297.0
MAX_PAGES = 10
QR_CODE_MAX_BYTES = 504
"""Notify's limit: beyond this much data, a QR code printed at letter size gets hard to scan."""


@dataclass(frozen=True)
class Area:
    """A rectangle on the page in millimetres from the top-left corner."""

    left: float
    right: float
    top: float
    bottom: float

    @property
    def width_pt(self) -> float:
        return (self.right - self.left) * mm

    @property
    def height_pt(self) -> float:
        return (self.bottom - self.top) * mm

    @property
    def x_pt(self) -> float:
        """Left edge in PDF points."""
        return self.left * mm

    @property
    def y_pt(self) -> float:
        """Bottom edge in PDF points (PDF y grows upwards)."""
        return (A4_HEIGHT_MM - self.bottom) * mm

    def contains(self, x_pt: float, y_pt: float, *, tolerance_mm: float = 0.5) -> bool:
        """Whether a point given in PDF points (origin bottom-left) falls inside the area."""
        x = x_pt / mm
        y_from_top = A4_HEIGHT_MM - y_pt / mm
        return (
            self.left - tolerance_mm <= x <= self.right + tolerance_mm
            and self.top - tolerance_mm <= y_from_top <= self.bottom + tolerance_mm
        )


BORDER = Area(left=15.0, right=195.0, top=5.0, bottom=292.0)
LOGO_AREA = Area(left=15.0, right=125.0, top=5.0, bottom=30.0)
CONTACT_BLOCK_AREA = Area(left=125.0, right=195.0, top=5.0, bottom=95.0)
ADDRESS_WINDOW = Area(left=24.6, right=120.0, top=39.5, bottom=66.3)
FIRST_PAGE_BODY = Area(left=24.6, right=190.0, top=95.0, bottom=277.0)
LATER_PAGE_BODY = Area(left=24.6, right=190.0, top=20.0, bottom=277.0)
PAGE_NUMBER_BASELINE_FROM_TOP_MM = 287.0

# With the first baseline 3.2 mm below the window's top edge and 10.5 pt leading, a seventh line's baseline sits at
# 64.9 mm, so its descenders stay above the 66.3 mm bottom edge: the block never needs to move.
ADDRESS_FONT_SIZE = 10.0
ADDRESS_MIN_FONT_SIZE = 6.0  # at 6 pt, about 70 characters fit across the window
ADDRESS_LEADING_RATIO = 1.05
ADDRESS_FIRST_BASELINE_FROM_TOP_MM = ADDRESS_WINDOW.top + 3.2

# --- Fonts -------------------------------------------------------------------------------------------------

FONT_REGULAR = "NotifyLetter"
FONT_BOLD = "NotifyLetter-Bold"

#: Where DejaVu Sans lives on common systems. It is used because it covers Welsh (ŵ ŷ and friends) and
#: embeds cleanly; ReportLab's built-in Helvetica has no glyphs beyond Latin-1. On Debian it comes from
#: the `fonts-dejavu-core` package.
FONT_DIRECTORIES = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu-sans-fonts"),  # Fedora, RHEL
    Path("/usr/share/fonts/TTF"),  # Arch
    Path("/usr/local/share/fonts/dejavu"),  # FreeBSD, hand installs
    Path("/Library/Fonts"),  # macOS, when a developer has installed DejaVu
    Path.home() / "Library" / "Fonts",
)


class LetterFontMissing(RuntimeError):
    """Letters cannot be drawn without a font that has every Welsh character."""


@functools.cache
def register_letter_fonts() -> tuple[str, str]:
    """Register DejaVu Sans with ReportLab once per process; return the regular and bold font names.

    Done lazily, not at import, so a process that never renders a letter starts without the font.
    """
    for directory in FONT_DIRECTORIES:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont(FONT_REGULAR, str(regular)))
            pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
            pdfmetrics.registerFontFamily(FONT_REGULAR, normal=FONT_REGULAR, bold=FONT_BOLD)
            return FONT_REGULAR, FONT_BOLD
    searched = ", ".join(str(d) for d in FONT_DIRECTORIES)
    raise LetterFontMissing(
        f"DejaVu Sans (DejaVuSans.ttf and DejaVuSans-Bold.ttf) was not found in {searched}; "
        "on Debian install the fonts-dejavu-core package"
    )


# --- Page 1 furniture --------------------------------------------------------------------------------------

DATE_LOCALES = {"english": "en_GB", "welsh": "cy"}


def paragraph_markup(text: str) -> str:
    """ReportLab paragraphs read a small XML markup, so user text is escaped and hard line breaks kept."""
    return escape(text).replace("\n", "<br/>")


class FirstPage:
    """Draws what only page 1 carries: the logo, the contact block and date, and the address in the window."""

    def __init__(
        self, address: list[str], contact_block: str | None, logo: bytes | None, when: date, font: str
    ) -> None:
        self.address, self.contact_block, self.logo, self.when, self.font = address, contact_block, logo, when, font

    def draw(self, canvas: Canvas, language: str) -> None:
        if self.logo:
            area = LOGO_AREA
            canvas.drawImage(
                ImageReader(io.BytesIO(self.logo)),
                area.x_pt,
                area.y_pt,
                area.width_pt,
                area.height_pt,
                preserveAspectRatio=True,
                anchor="nw",
                mask="auto",
            )
        self._draw_contact_block(canvas, language)
        self._draw_address(canvas)

    def _draw_contact_block(self, canvas: Canvas, language: str) -> None:
        style = ParagraphStyle("contact", fontName=self.font, fontSize=9, leading=12)
        parts: list[Flowable] = []
        if self.contact_block and self.contact_block.strip():
            parts += [ParagraphFlowable(paragraph_markup(self.contact_block.strip()), style), Spacer(0, 4 * mm)]
        parts.append(
            ParagraphFlowable(escape(format_date(self.when, "d MMMM y", locale=DATE_LOCALES[language])), style)
        )
        area = CONTACT_BLOCK_AREA
        frame = Frame(area.x_pt, area.y_pt, area.width_pt, area.height_pt - 5 * mm, showBoundary=0)
        frame.addFromList([KeepInFrame(area.width_pt, area.height_pt - 5 * mm, parts, mode="shrink")], canvas)

    def _draw_address(self, canvas: Canvas) -> None:
        """One line per address line, shrunk together if the widest line would run past the window."""
        window = ADDRESS_WINDOW
        widest = max(stringWidth(line, self.font, ADDRESS_FONT_SIZE) for line in self.address)
        size = min(ADDRESS_FONT_SIZE, ADDRESS_FONT_SIZE * window.width_pt / widest)
        if size < ADDRESS_MIN_FONT_SIZE:
            # The envelope would hide the rest of the line, and a letter that cannot be delivered still costs postage.
            raise ValueError("an address line is too long to show in the envelope window")
        leading = size * ADDRESS_LEADING_RATIO
        canvas.setFont(self.font, size)
        y = (A4_HEIGHT_MM - ADDRESS_FIRST_BASELINE_FROM_TOP_MM) * mm
        for line in self.address:
            canvas.drawString(window.x_pt, y, line)
            y -= leading


# --- Letter markup -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]


@dataclass(frozen=True)
class NumberedList:
    items: tuple[str, ...]


@dataclass(frozen=True)
class QrCode:
    data: str


@dataclass(frozen=True)
class PageBreak:
    pass


Block = Heading | Paragraph | BulletList | NumberedList | QrCode | PageBreak


class QrCodeTooLong(ValueError):
    """A `qr:` paragraph holds more than the printable limit; the API answers `ValidationError` with these fields."""

    def __init__(self, *, data: str, num_bytes: int) -> None:
        super().__init__(f"Too much data for QR code (num_bytes={num_bytes}, max_bytes={QR_CODE_MAX_BYTES})")
        self.data = data
        self.num_bytes = num_bytes
        self.max_bytes = QR_CODE_MAX_BYTES


_HEADING = re.compile(r"^\s{0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$")
_RULE = re.compile(r"^\s*(?:-\s*){3,}$|^\s*(?:\*\s*){3,}$")
_BULLET = re.compile(r"^\s*[*\-•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+\.\s+(.*)$")
_INSET = re.compile(r"^\s*\^\s?")
_QR = re.compile(r"^\s*qr\s*:\s*(.+)", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"\[([^\]\n]+)\]\((\S+?)\)")


def qr_code_data(paragraph: str) -> str | None:
    """The data of a `qr: <data>` paragraph, or None when the paragraph is ordinary text."""
    match = _QR.match(paragraph)
    return match.group(1).strip() if match else None


def check_qr_code(data: str) -> None:
    """Refuse QR data over the limit; counted in UTF-8 bytes because that is what the code encodes."""
    num_bytes = len(data.encode("utf-8"))
    if num_bytes > QR_CODE_MAX_BYTES:
        raise QrCodeTooLong(data=data, num_bytes=num_bytes)


def parse_letter_blocks(text: str) -> list[Block]:
    """Split filled letter content into blocks, checking QR codes on the way.

    Letters take a subset of the email markup (§9.3–9.4): `#` is a heading and deeper levels are plain
    paragraphs, `---` (or `***`) starts a new page, `* - •` and `1.` lines make lists, `^` inset text is a
    paragraph on paper, and `[text](url)` becomes `text: url` because paper has no links.
    """
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[str] = []
    numbered = False

    def flush() -> None:
        nonlocal numbered
        if paragraph:
            joined = "\n".join(paragraph)
            data = qr_code_data(joined)
            if data is not None:
                check_qr_code(data)
                blocks.append(QrCode(data))
            else:
                blocks.append(Paragraph(joined))
            paragraph.clear()
        if items:
            blocks.append(NumberedList(tuple(items)) if numbered else BulletList(tuple(items)))
            items.clear()
        numbered = False

    for raw in _LINK.sub(r"\1: \2", text.replace("\r\n", "\n")).split("\n"):
        line = _INSET.sub("", raw).rstrip()
        if not line.strip():
            flush()
        elif _RULE.match(line):
            flush()
            blocks.append(PageBreak())
        elif heading := _HEADING.match(line):
            flush()
            level, words = heading.group(1), heading.group(2) or ""
            if words:
                blocks.append(Heading(words) if len(level) == 1 else Paragraph(words))
        elif item := _BULLET.match(line) or _NUMBERED.match(line):
            is_numbered = item.re is _NUMBERED
            if paragraph or (items and is_numbered != numbered):
                flush()
            numbered = is_numbered
            items.append(item.group(1).strip())
        elif items:
            items[-1] = f"{items[-1]}\n{line.strip()}"
        else:
            paragraph.append(line.strip())
    flush()
    return blocks
