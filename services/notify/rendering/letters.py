"""Letters as real PDFs: templated letters drawn for a window envelope, and checks on precompiled ones.

Rendering and validation live together because they share one contract, the page geometry in
`letter_layout`: a letter we draw must pass the same checks (A4, at most 10 pages, an address readable in
the envelope window) that a service's own precompiled PDF has to pass before it goes to print.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from pypdf import PdfReader
from reportlab.graphics.barcode.qr import QrCode as QrCodeFlowable
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Spacer,
)
from reportlab.platypus import Paragraph as ParagraphFlowable

from services.notify.rendering import letter_layout as layout
from services.notify.rendering.letter_layout import (
    MAX_PAGES,
    BulletList,
    Heading,
    LetterFontMissing,
    NumberedList,
    Paragraph,
    QrCode,
    QrCodeTooLong,
    parse_letter_blocks,
)
from services.notify.rendering.placeholders import ListStyle, fill

__all__ = [
    "MAX_PAGES",
    "LetterFontMissing",
    "LetterTooLong",
    "PrecompiledFailure",
    "PrecompiledResult",
    "QrCodeTooLong",
    "billable_sheets",
    "check_letter_content",
    "letter_page_count",
    "render_letter_pdf",
    "validate_precompiled",
]

log = structlog.get_logger("notify.rendering.letters")

POSTAGE_CLASSES = ("first", "second", "economy", "europe", "rest-of-world")
LANGUAGES = ("english", "welsh_then_english")
_PAGE_LABELS = {"english": "Page {n} of {total}", "welsh": "Tudalen {n} o {total}"}
# Rendering stops here whatever the content, so a huge body costs a bounded amount of work.
_PAGE_COUNT_CAP = 100


class LetterTooLong(ValueError):
    """The rendered letter has more pages than the printer takes."""

    def __init__(self, *, page_count: int, exact: bool = True) -> None:
        counted = f"{page_count}" if exact else f"more than {page_count - 1}"
        super().__init__(f"Letter too long: {counted} pages (at most {MAX_PAGES})")
        self.page_count = page_count
        self.exact = exact
        self.max_pages = MAX_PAGES


# --- Rendering ---------------------------------------------------------------------------------------------


def render_letter_pdf(
    *,
    content: str,
    subject: str,
    personalisation: dict[str, Any],
    address_lines: list[str],
    postage: str,
    contact_block: str | None = None,
    logo: bytes | None = None,
    language: str = "english",
    welsh_subject: str | None = None,
    welsh_content: str | None = None,
    letter_date: date | None = None,
) -> bytes:
    """Draw a templated letter as an A4 PDF ready for a C5/DL window envelope.

    `address_lines` are the already validated lines (§10.3). `logo` is PNG or JPEG bytes. With
    `language="welsh_then_english"` the Welsh subject and content come first and the English version starts on
    a new page. `letter_date` defaults to today in London, where letters are printed.

    Raises `QrCodeTooLong` for an over-long `qr:` paragraph, `LetterTooLong` beyond 10 pages, `ValueError` for
    arguments that cannot make a letter (unknown postage or language, an address the window cannot show) and
    `LetterFontMissing` when DejaVu Sans is not installed.
    """
    if postage not in POSTAGE_CLASSES:
        raise ValueError(f"postage must be one of {', '.join(POSTAGE_CLASSES)}")
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    if not address_lines or len(address_lines) > 7:
        raise ValueError("a letter needs between 1 and 7 address lines to fit the envelope window")

    regular, bold = layout.register_letter_fonts()
    styles = _styles(regular, bold)
    when = letter_date or datetime.now(ZoneInfo("Europe/London")).date()

    story: list[Flowable] = []
    bilingual = language == "welsh_then_english"
    if bilingual:
        if welsh_subject is None or welsh_content is None:
            raise ValueError("welsh_then_english letters need welsh_subject and welsh_content")
        story += _section(welsh_subject, welsh_content, personalisation, styles)
        story += [NextPageTemplate("later-english"), PageBreak()]
    story += _section(subject, content, personalisation, styles)

    first_page = layout.FirstPage(address_lines, contact_block, logo, when, regular)
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=fill(subject, personalisation, lists=ListStyle.INLINE),
        author="GaaP Notify",
        subject=f"Letter, postage {postage}",
        keywords=f"postage={postage}",
        invariant=1,
        pageCompression=1,
        # Otherwise every page names Helvetica, which is never embedded; printers want every font embedded.
        initialFontName=regular,
        lang="cy" if bilingual else "en-GB",
    )
    first = "welsh" if bilingual else "english"
    doc.addPageTemplates(
        [
            _page_template(f"first-{first}", layout.FIRST_PAGE_BODY, first, f"later-{first}", first_page),
            _page_template("later-welsh", layout.LATER_PAGE_BODY, "welsh", "later-welsh"),
            _page_template("later-english", layout.LATER_PAGE_BODY, "english", "later-english"),
        ]
    )
    doc.build(story, canvasmaker=_LetterCanvas)
    return buffer.getvalue()


def check_letter_content(content: str, personalisation: dict[str, Any]) -> None:
    """The checks a send can make before any PDF exists: today, that every `qr:` code fits (`QrCodeTooLong`).

    The page limit needs the rendered PDF, so it is enforced by `render_letter_pdf` in the worker.
    """
    parse_letter_blocks(fill(content, personalisation))


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=regular, fontSize=11, leading=15, spaceAfter=8)
    return {
        "body": body,
        "subject": ParagraphStyle("subject", parent=body, fontName=bold, fontSize=14, leading=18, spaceAfter=10),
        "heading": ParagraphStyle("heading", parent=body, fontName=bold, fontSize=12, leading=16, spaceBefore=4),
        "item": ParagraphStyle("item", parent=body, spaceAfter=2),
    }


def _section(
    subject: str, content: str, personalisation: dict[str, Any], styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    """One language's subject and content as flowables."""
    story: list[Flowable] = [
        ParagraphFlowable(
            layout.paragraph_markup(fill(subject, personalisation, lists=ListStyle.INLINE)), styles["subject"]
        )
    ]
    for block in parse_letter_blocks(fill(content, personalisation)):
        if isinstance(block, Heading):
            story.append(ParagraphFlowable(layout.paragraph_markup(block.text), styles["heading"]))
        elif isinstance(block, Paragraph):
            story.append(ParagraphFlowable(layout.paragraph_markup(block.text), styles["body"]))
        elif isinstance(block, BulletList | NumberedList):
            numbered = isinstance(block, NumberedList)
            items = [ListItem(ParagraphFlowable(layout.paragraph_markup(text), styles["item"])) for text in block.items]
            story.append(
                ListFlowable(
                    items,
                    bulletType="1" if numbered else "bullet",
                    start=None if numbered else "•",
                    bulletFormat="%s." if numbered else None,
                    bulletFontName=styles["body"].fontName,
                    bulletFontSize=styles["body"].fontSize,
                    leftIndent=6 * mm,
                    spaceAfter=8,
                )
            )
        elif isinstance(block, QrCode):
            story += [QrCodeFlowable(block.data, width=30 * mm, height=30 * mm, qrLevel="M"), Spacer(0, 4 * mm)]
        else:
            story.append(PageBreak())
    return story


def _page_template(
    template_id: str, body: layout.Area, language: str, next_id: str, first_page: layout.FirstPage | None = None
) -> PageTemplate:
    def on_page(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        canvas.page_language = language
        if first_page is not None:
            first_page.draw(canvas, language)

    frame = Frame(body.x_pt, body.y_pt, body.width_pt, body.height_pt, leftPadding=0, rightPadding=0, id=template_id)
    return PageTemplate(id=template_id, frames=[frame], onPage=on_page, autoNextPageTemplate=next_id)


class _LetterCanvas(Canvas):
    """Holds pages back until the end so each can say `Page n of m`, and enforces the page limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_language = "english"
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # ReportLab's name
        self._pages.append(dict(self.__dict__))
        if len(self._pages) > _PAGE_COUNT_CAP:
            raise LetterTooLong(page_count=len(self._pages), exact=False)
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        if total > MAX_PAGES:
            raise LetterTooLong(page_count=total)
        for state in self._pages:
            self.__dict__.update(state)
            label = _PAGE_LABELS[self.page_language].format(n=self._pageNumber, total=total)
            self.setFont(layout.FONT_REGULAR, 9)
            self.drawCentredString(
                A4[0] / 2, (layout.A4_HEIGHT_MM - layout.PAGE_NUMBER_BASELINE_FROM_TOP_MM) * mm, label
            )
            super().showPage()
        super().save()


# --- Page counts and precompiled letters -------------------------------------------------------------------


def letter_page_count(pdf_bytes: bytes) -> int:
    """Pages in a PDF; raises pypdf's errors for bytes that are not one."""
    return len(PdfReader(io.BytesIO(pdf_bytes)).pages)


def billable_sheets(page_count: int) -> int:
    """Letters print double-sided, so a sheet of paper carries two pages."""
    if page_count < 0:
        raise ValueError("page_count must not be negative")
    return math.ceil(page_count / 2)


class PrecompiledFailure(StrEnum):
    NOT_A_PDF = "not-a-pdf"
    TOO_MANY_PAGES = "too-many-pages"
    NOT_A4 = "not-a4"
    NO_ADDRESS = "no-address"


@dataclass(frozen=True)
class PrecompiledResult:
    """The outcome of checking a precompiled PDF; `failure` is None when it may go to print."""

    page_count: int = 0
    address_lines: tuple[str, ...] = ()
    failure: PrecompiledFailure | None = None
    message: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.failure is None


A4_TOLERANCE_PT = 1 * mm  # PDF producers round A4 differently (595×842, 595.28×841.89, 595.3×841.9)


def validate_precompiled(pdf_bytes: bytes) -> PrecompiledResult:
    """Check a service's own PDF in Notify's order: readable, page count, A4 portrait, address in the window.

    The address lines are returned rather than judged: the postal-address rules (§10.3) decide whether they
    make a deliverable address.
    """
    try:
        return _validate(pdf_bytes)
    except Exception as error:
        # The bytes come from outside and pypdf signals a malformed file with many exception types; any of
        # them means the printer could not read the file either. Logged, so a bug of ours still shows.
        log.warning("precompiled.unreadable", error=type(error).__name__, detail=str(error)[:200])
        return PrecompiledResult(failure=PrecompiledFailure.NOT_A_PDF, message="The file cannot be read as a PDF")


def _validate(pdf_bytes: bytes) -> PrecompiledResult:
    if b"%PDF-" not in pdf_bytes[:1024]:  # the header may follow up to 1 KiB of junk
        return PrecompiledResult(failure=PrecompiledFailure.NOT_A_PDF, message="The file is not a PDF")
    reader = PdfReader(io.BytesIO(pdf_bytes))
    if reader.is_encrypted and not reader.decrypt(""):
        return PrecompiledResult(failure=PrecompiledFailure.NOT_A_PDF, message="The PDF is password protected")
    pages = reader.pages
    count = len(pages)
    if count == 0:
        return PrecompiledResult(failure=PrecompiledFailure.NOT_A_PDF, message="The PDF has no pages")
    if count > MAX_PAGES:
        message = f"Letters must be {MAX_PAGES} pages or less; this one is {count} pages long"
        return PrecompiledResult(page_count=count, failure=PrecompiledFailure.TOO_MANY_PAGES, message=message)
    for number, page in enumerate(pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        if page.rotation % 180 == 90:
            width, height = height, width
        if abs(width - A4[0]) > A4_TOLERANCE_PT or abs(height - A4[1]) > A4_TOLERANCE_PT:
            message = f"Page {number} is {width / mm:.0f} × {height / mm:.0f} mm; letters must be A4 portrait"
            return PrecompiledResult(page_count=count, failure=PrecompiledFailure.NOT_A4, message=message)
    lines = tuple(_address_window_text(pages[0]))
    if not lines:
        message = "No address was found in the address area of page 1"
        return PrecompiledResult(page_count=count, failure=PrecompiledFailure.NO_ADDRESS, message=message)
    return PrecompiledResult(page_count=count, address_lines=lines)


def _address_window_text(page: Any) -> list[str]:
    """The text lines of a pypdf page whose baselines start inside the envelope window, top to bottom.

    Positions are taken as the page is displayed, so a landscape page box turned upright by `/Rotate` is read
    the way it prints.
    """
    box = page.mediabox
    origin_x, origin_y, width, height = float(box.left), float(box.bottom), float(box.width), float(box.height)
    rotation = page.rotation % 360
    fragments: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, _size: float) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4] - origin_x
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5] - origin_y
        x, y = _as_displayed(x, y, rotation, width, height)
        if layout.ADDRESS_WINDOW.contains(x, y):
            fragments.append((x, y, text))

    page.extract_text(visitor_text=visit)
    lines: list[tuple[float, list[tuple[float, str]]]] = []
    for x, y, text in sorted(fragments, key=lambda f: (-f[1], f[0])):
        if lines and abs(lines[-1][0] - y) < 2:
            lines[-1][1].append((x, text))
        else:
            lines.append((y, [(x, text)]))
    joined = (" ".join(text for _x, text in sorted(parts)) for _y, parts in lines)
    return [line for line in (" ".join(text.split()) for text in joined) if line]


def _as_displayed(x: float, y: float, rotation: int, width: float, height: float) -> tuple[float, float]:
    """A point of the unrotated page box as it appears once the page is turned `rotation` degrees clockwise."""
    if rotation == 90:
        return y, width - x
    if rotation == 180:
        return width - x, height - y
    if rotation == 270:
        return height - y, x
    return x, y
