"""Letters render to real PDFs that pass the same checks as precompiled ones (§5.5, §9.4).

PDFs are read back with pypdf and text is located with a visitor, so positions are checked in the file a
printer would get, against the specification's millimetres rather than the module's own constants.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4, LETTER, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from services.notify.rendering.letters import (
    LetterTooLong,
    PrecompiledFailure,
    QrCodeTooLong,
    billable_sheets,
    check_letter_content,
    letter_page_count,
    render_letter_pdf,
    validate_precompiled,
)

ADDRESS = ["Ann Example", "Flat 2, 10 High Street", "Caerdydd", "CF10 1AA"]


def render(**overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "content": "Dear ((name)),\n\nThank you.",
        "subject": "Your application",
        "personalisation": {"name": "Ann"},
        "address_lines": ADDRESS,
        "postage": "second",
        "letter_date": date(2024, 5, 17),
    }
    return render_letter_pdf(**(args | overrides))


@dataclass(frozen=True)
class Text:
    text: str
    x_mm: float  # from the left edge
    y_mm: float  # baseline, from the top edge, as the letter specification measures
    font: str
    size: float  # points, as drawn


def texts(pdf: bytes, page: int = 0) -> list[Text]:
    found: list[Text] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, _size: float) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            name = str(font.get("/BaseFont", "")) if font else ""
            found.append(Text(text.strip(), x / mm, 297 - y / mm, name, _size * tm[0] * cm[0]))

    PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return found


def find(pdf: bytes, wanted: str, page: int = 0) -> Text:
    matches = [t for t in texts(pdf, page) if t.text == wanted]
    assert matches, f"{wanted!r} not on page {page + 1}: {[t.text for t in texts(pdf, page)]}"
    return matches[0]


def page_text(pdf: bytes, page: int = 0) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[page].extract_text()


def in_window(t: Text) -> bool:
    """GOV.UK Notify's address area: 24.6–120 mm from the left, 39.5–66.3 mm from the top."""
    return 24.59 <= t.x_mm <= 120 and 39.5 <= t.y_mm <= 66.3


# --- Rendering ---------------------------------------------------------------------------------------------


def test_renders_an_a4_pdf_with_an_embedded_font() -> None:
    pdf = render()

    reader = PdfReader(io.BytesIO(pdf))
    assert pdf.startswith(b"%PDF-")
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    descriptors = [font.get_object()["/FontDescriptor"] for font in fonts.values()]
    assert descriptors
    assert all("/FontFile2" in d for d in descriptors), "TrueType fonts must be embedded"
    assert reader.metadata is not None
    assert reader.metadata.title == "Your application"


def test_address_lines_sit_in_the_envelope_window_in_order() -> None:
    pdf = render()

    placed = [find(pdf, line) for line in ADDRESS]
    assert all(in_window(t) for t in placed), placed
    assert [t.y_mm for t in placed] == sorted(t.y_mm for t in placed)
    assert len({round(t.x_mm, 1) for t in placed}) == 1


def test_seven_long_address_lines_are_shrunk_to_fit_the_window() -> None:
    lines = [f"Line {n} of a long address, Llanfairpwllgwyngyll, Ynys Môn" for n in range(1, 7)] + ["LL61 5UJ"]

    pdf = render(address_lines=lines)

    placed = [find(pdf, line) for line in lines]
    assert all(in_window(t) for t in placed), placed
    assert all(t.size < 10 for t in placed)
    assert all(t.x_mm + stringWidth(t.text, "NotifyLetter", t.size) / mm <= 120 for t in placed), "line ends fit"


def test_an_address_line_too_long_for_the_window_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        render(address_lines=["Ann Example", "x" * 120, "SW1A 1AA"])


def test_first_page_has_the_date_and_contact_block_top_right() -> None:
    pdf = render(contact_block="Passport Office\nPO Box 1\nLondon\nSW1A 2AA", content="Body\n\n---\n\nMore")

    for wanted in ("Passport Office", "SW1A 2AA", "17 May 2024"):
        t = find(pdf, wanted)
        assert t.x_mm >= 125
        assert t.y_mm < 95
    assert "17 May 2024" not in page_text(pdf, 1)
    assert "Ann Example" not in page_text(pdf, 1)
    assert find(pdf, "Your application").y_mm > 95, "the body starts below the address and contact block"


def test_headings_paragraphs_and_lists() -> None:
    content = (
        "# Main heading\n\n## Smaller heading\n\nFirst paragraph\nwith a hard break.\n\n"
        "* apples\n- pears\n• plums\n\n1. first\n2. second\n\n^ Inset text"
    )

    pdf = render(content=content)

    text = page_text(pdf)
    for expected in ("First paragraph", "with a hard break.", "apples", "pears", "plums", "Inset text"):
        assert expected in text
    assert "#" not in text
    assert "^" not in text
    assert text.count("•") == 3
    assert "1." in text
    assert "2." in text
    assert "Bold" in find(pdf, "Main heading").font
    assert "Bold" not in find(pdf, "Smaller heading").font
    assert "Bold" in find(pdf, "Your application").font
    assert find(pdf, "Main heading").y_mm < find(pdf, "Smaller heading").y_mm < find(pdf, "apples").y_mm


def test_links_are_written_out_for_paper() -> None:
    pdf = render(content="Apply at [GOV.UK](https://www.gov.uk/apply) today.")

    assert "Apply at GOV.UK: https://www.gov.uk/apply today." in page_text(pdf)


def test_horizontal_rule_starts_a_new_page_with_page_numbers() -> None:
    pdf = render(content="Before the break\n\n---\n\nAfter the break")

    assert letter_page_count(pdf) == 2
    assert "Before the break" in page_text(pdf, 0)
    assert "After the break" not in page_text(pdf, 0)
    assert "After the break" in page_text(pdf, 1)
    assert find(pdf, "Page 1 of 2", 0).y_mm > 280
    assert find(pdf, "Page 2 of 2", 1).y_mm > 280
    assert find(pdf, "After the break", 1).y_mm < 40, "later pages use the full height"


def test_qr_code_within_the_limit_is_drawn() -> None:
    data = "https://www.gov.uk/?" + "x" * 484  # exactly 504 bytes
    without = render(content="Scan this:")

    pdf = render(content="Scan this:\n\nqr: ((link))", personalisation={"name": "Ann", "link": data})

    assert "qr:" not in page_text(pdf)
    assert data not in page_text(pdf)
    contents = PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data()
    plain = PdfReader(io.BytesIO(without)).pages[0].get_contents().get_data()
    assert contents.count(b" re") > plain.count(b" re") + 100, "the QR code's modules are drawn as rectangles"


@pytest.mark.parametrize(
    ("data", "num_bytes"),
    [("x" * 505, 505), ("ŵ" * 253, 506)],  # bytes, not characters: ŵ is 2 bytes in UTF-8
)
def test_qr_code_over_the_limit_is_refused_with_its_details(data: str, num_bytes: int) -> None:
    with pytest.raises(QrCodeTooLong) as error:
        render(content=f"Intro\n\nQR: {data}")

    assert (error.value.data, error.value.num_bytes, error.value.max_bytes) == (data, num_bytes, 504)
    with pytest.raises(QrCodeTooLong):
        check_letter_content("qr: ((code))", {"code": data})
    check_letter_content("qr: ((code))", {"code": "x" * 504})


def test_ten_pages_are_allowed_and_eleven_are_not() -> None:
    assert letter_page_count(render(content="\n\n---\n\n".join(["page"] * 10))) == 10

    with pytest.raises(LetterTooLong) as error:
        render(content="\n\n---\n\n".join(["page"] * 11))

    assert (error.value.page_count, error.value.max_pages, error.value.exact) == (11, 10, True)


def test_runaway_content_stops_rendering_early() -> None:
    with pytest.raises(LetterTooLong) as error:
        render(content="\n\n---\n\n".join(["page"] * 1000))

    assert error.value.exact is False
    assert error.value.page_count == 101


def test_welsh_characters_round_trip() -> None:
    welsh = "Ŵ ŵ Ŷ ŷ â ê î ô û ë ï ẁ ẃ ỳ"

    pdf = render(content=f"Diolch yn fawr: {welsh}", address_lines=["Siôn Ŵyn", "Tŷ Newydd", "Caerdydd", "CF10 1AA"])

    assert welsh in page_text(pdf)
    assert in_window(find(pdf, "Siôn Ŵyn"))
    assert in_window(find(pdf, "Tŷ Newydd"))


def test_welsh_then_english_letters() -> None:
    pdf = render(
        language="welsh_then_english",
        welsh_subject="Eich cais",
        welsh_content="Annwyl ((name))",
        content="Dear ((name))",
    )

    assert letter_page_count(pdf) == 2
    assert "Eich cais" in page_text(pdf, 0)
    assert "Annwyl Ann" in page_text(pdf, 0)
    assert "17 Mai 2024" in page_text(pdf, 0)
    assert "Tudalen 1 o 2" in page_text(pdf, 0)
    assert "Dear Ann" in page_text(pdf, 1)
    assert "Page 2 of 2" in page_text(pdf, 1)
    with pytest.raises(ValueError, match="welsh_subject"):
        render(language="welsh_then_english")


def test_placeholders_are_filled() -> None:
    pdf = render(
        subject="About ((things))",
        content="Hello ((First Name))\n\n((urgent??This is urgent.))((late??This is late.))\n\nYou sent:((things))",
        personalisation={"first_name": "Ann", "urgent": "yes", "late": "no", "things": ["a form", "a photo"]},
    )

    text = page_text(pdf)
    assert "About a form and a photo" in text
    assert "Hello Ann" in text
    assert "This is urgent." in text
    assert "This is late." not in text
    assert find(pdf, "a photo").x_mm > find(pdf, "You sent:").x_mm, "list values become an indented list"
    assert text.count("•") == 2


def test_logo_is_drawn_top_left() -> None:
    image = io.BytesIO()
    Image.new("RGB", (200, 50), "navy").save(image, format="PNG")

    pdf = render(logo=image.getvalue())

    xobjects = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/XObject"]
    assert any(x.get_object()["/Subtype"] == "/Image" for x in xobjects.values())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"postage": "third"}, "postage"),
        ({"language": "french"}, "language"),
        ({"address_lines": []}, "address lines"),
        ({"address_lines": [f"line {n}" for n in range(8)]}, "address lines"),
    ],
)
def test_bad_arguments_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render(**overrides)


@pytest.mark.parametrize(("pages", "sheets"), [(0, 0), (1, 1), (2, 1), (3, 2), (10, 5)])
def test_billable_sheets_are_double_sided(pages: int, sheets: int) -> None:
    assert billable_sheets(pages) == sheets


# --- Precompiled letters -----------------------------------------------------------------------------------


def make_pdf(pages: int = 1, size: tuple[float, float] = A4, address: list[str] | None = None) -> bytes:
    """A PDF as a service might make one; the address is drawn where the window is, unless told otherwise."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size)
    for number in range(pages):
        canvas.setFont("Helvetica", 10)
        if number == 0:
            for i, line in enumerate(ADDRESS if address is None else address):
                canvas.drawString(30 * mm, size[1] - (45 + 4 * i) * mm, line)
        canvas.drawString(30 * mm, size[1] - 150 * mm, f"Body of page {number + 1}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_a_rendered_letter_passes_precompiled_validation() -> None:
    result = validate_precompiled(render(content="One\n\n---\n\nTwo\n\n---\n\nThree"))

    assert result.is_valid
    assert result.failure is None
    assert result.page_count == 3
    assert result.address_lines == tuple(ADDRESS)


def test_a_service_made_pdf_passes() -> None:
    result = validate_precompiled(make_pdf(pages=2))

    assert result.is_valid
    assert result.page_count == 2
    assert result.address_lines == tuple(ADDRESS)


@pytest.mark.parametrize("data", [b"", b"hello", b"<html></html>", make_pdf()[:300], b"%PDF-1.4\ngarbage"])
def test_bytes_that_are_not_a_pdf_fail(data: bytes) -> None:
    result = validate_precompiled(data)

    assert not result.is_valid
    assert result.failure is PrecompiledFailure.NOT_A_PDF
    assert result.failure == "not-a-pdf"
    assert result.message


def test_a_password_protected_pdf_fails() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf()))
    writer.encrypt("secret")
    encrypted = io.BytesIO()
    writer.write(encrypted)

    assert validate_precompiled(encrypted.getvalue()).failure is PrecompiledFailure.NOT_A_PDF


@pytest.mark.parametrize("size", [LETTER, landscape(A4), (210 * mm, 280 * mm)])
def test_pages_that_are_not_a4_portrait_fail(size: tuple[float, float]) -> None:
    result = validate_precompiled(make_pdf(size=size))

    assert result.failure is PrecompiledFailure.NOT_A4
    assert result.page_count == 1


def test_a_rotated_page_fails_as_not_portrait() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf()))
    writer.pages[0].rotate(90)
    rotated = io.BytesIO()
    writer.write(rotated)

    assert validate_precompiled(rotated.getvalue()).failure is PrecompiledFailure.NOT_A4


def test_a4_rounded_to_whole_points_passes() -> None:
    assert validate_precompiled(make_pdf(size=(595, 842))).is_valid


def test_eleven_pages_fail() -> None:
    assert validate_precompiled(make_pdf(pages=10)).is_valid

    result = validate_precompiled(make_pdf(pages=11))

    assert result.failure is PrecompiledFailure.TOO_MANY_PAGES
    assert result.page_count == 11


def test_no_text_in_the_address_window_fails() -> None:
    result = validate_precompiled(make_pdf(address=[]))

    assert result.failure is PrecompiledFailure.NO_ADDRESS
    assert result.address_lines == ()


def test_text_outside_the_window_is_not_an_address() -> None:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.setFont("Helvetica", 10)
    canvas.drawString(130 * mm, A4[1] - 50 * mm, "Right of the window")
    canvas.drawString(30 * mm, A4[1] - 80 * mm, "Below the window")
    canvas.drawString(30 * mm, A4[1] - 20 * mm, "Above the window")
    canvas.showPage()
    canvas.save()

    assert validate_precompiled(buffer.getvalue()).failure is PrecompiledFailure.NO_ADDRESS


def test_a_landscape_page_turned_to_portrait_is_read_as_displayed() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf()))
    page = writer.pages[0]
    page.rotate(90)
    page.transfer_rotation_to_content()  # landscape page box, content drawn sideways
    page.rotate(270)  # ... shown upright again, as some producers write portrait pages
    turned = io.BytesIO()
    writer.write(turned)

    result = validate_precompiled(turned.getvalue())

    assert result.is_valid, result
    assert result.address_lines == tuple(ADDRESS)
