"""Email bodies, plain text, HTML and subjects (spec §9.3, §5.3, §7, §13.3)."""

from __future__ import annotations

import re

import pytest

from services.notify.rendering import EMAIL_MAX_BYTES, EmailBrand, render_email, render_subject
from services.notify.rendering.email import (
    append_unsubscribe_link,
    html_body,
    is_empty,
    plain_text,
    preheader,
    unlink_govuk,
)
from services.notify.rendering.markdown import parse

EQUALS = "=" * 65
DASHES = "-" * 65
RULE = "=-" * 32 + "="
ZWSP = "\u200b"


def plain(source: str) -> str:
    return plain_text(parse(source))


def body_html(source: str) -> str:
    """The HTML body without inline styles, to compare structure."""
    return re.sub(r' style="[^"]*"', "", html_body(parse(source)))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Heading", f"Heading\n{EQUALS}\n"),
        ("## Heading", f"Heading\n{DASHES}\n"),
        ("### Heading", "Heading\n"),
        ("#### Heading", "Heading\n"),
        ("* item\n- item\n• item", "• item\n• item\n• item\n"),
        ("1. one\n2. two\n3. three", "1. one\n2. two\n3. three\n"),
        ("7. seven\n8. eight", "1. seven\n2. eight\n"),
        ("^ inset text", "inset text\n"),
        ("---", f"{RULE}\n"),
        ("***", f"{RULE}\n"),
        ("[text](https://example.com)", "text: https://example.com\n"),
        ('[text](https://example.com "Title")', "text (Title): https://example.com\n"),
        ("see https://example.com/a.", "see https://example.com/a.\n"),
        ("<https://example.com>", "https://example.com\n"),
        ("line one\nline two", "line one\nline two\n"),
        ("*em* **bold** `code` ~~strike~~", "*em* **bold** `code` ~~strike~~\n"),
        ("![alt](https://example.com/i.png)", "\n"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "\n"),
        ("text[^1]\n\n[^1]: the note", "text\n"),
        ("<b>not html</b>", "<b>not html</b>\n"),
        ("\\* not a bullet", "* not a bullet\n"),
    ],
)
def test_plain_text_table(source: str, expected: str) -> None:
    assert plain(source) == expected


def test_plain_text_layout_of_a_whole_email() -> None:
    source = "# Title\nIntro\n\n## Part\n* a\n* b\n\n---\n\n^ Note\n\n1. one\n\nEnd"
    assert plain(source) == (
        f"Title\n{EQUALS}\n\nIntro\n\n\nPart\n{DASHES}\n\n• a\n• b\n\n{RULE}\n\nNote\n\n1. one\n\nEnd\n"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Heading", "<h2>Heading</h2>"),
        ("## Heading", "<h3>Heading</h3>"),
        ("### Heading", "<p>Heading</p>"),
        ("a\nb", "<p>a<br>b</p>"),
        ("* a\n* b", '<table role="presentation"><tr><td><ul><li>a</li><li>b</li></ul></td></tr></table>'),
        ("1. a", '<table role="presentation"><tr><td><ol><li>a</li></ol></td></tr></table>'),
        ("^ inset", "<div><blockquote><p>inset</p></blockquote></div>"),
        ("---", "<hr>"),
        ("[text](https://x.com/a?b=1&c=2)", '<p><a href="https://x.com/a?b=1&amp;c=2">text</a></p>'),
        ('[t](https://x.com "A & B")', '<p><a href="https://x.com" title="A &amp; B">t</a></p>'),
        ("go https://x.com/a.", '<p>go <a href="https://x.com/a">https://x.com/a</a>.</p>'),
        ("[t](www.example.com)", '<p><a href="http://www.example.com">t</a></p>'),
        ("[t](mailto:a@b.com)", '<p><a href="mailto:a@b.com">t</a></p>'),
        ("*em* `code`", "<p>*em* `code`</p>"),
        ("![alt](i.png)", ""),
    ],
)
def test_html_body_structure(source: str, expected: str) -> None:
    assert body_html(source) == expected


def test_html_styles_follow_govuk_email_conventions() -> None:
    rendered = html_body(parse("# Big\n## Small\nText\n^ Inset\n[link](https://x.com)"))
    assert 'font-size: 27px; line-height: 35px;">Big</h2>' in rendered
    assert 'font-size: 19px;">Small</h3>' in rendered
    assert "font-weight: bold" in rendered
    assert "border-left: 10px solid #b1b4b6" in rendered
    assert '<p style="Margin: 0 0 20px 0; font-size: 19px; line-height: 25px; color: #0b0c0c;">Text' in rendered
    assert 'style="word-wrap: break-word; color: #1d70b8;"' in rendered


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", 'https://x.com/"onmouseover="alert(1)', "https://x.com/<script>", "data:text/html,<b>"],
)
def test_link_urls_cannot_break_out_of_the_attribute_or_run_script(url: str) -> None:
    rendered = html_body(parse(f"[click]({url})"))
    href = re.search(r'href="([^"]*)"', rendered)
    assert href is not None
    assert href.group(1).startswith(("http://", "https://"))
    assert "<script>" not in rendered
    assert '"onmouseover' not in rendered


def test_govuk_is_kept_from_autolinking_with_a_zero_width_space() -> None:
    assert unlink_govuk("GOV.UK and gov.uk, #GOV.UK") == f"GOV.{ZWSP}UK and gov.{ZWSP}uk, #GOV.{ZWSP}UK"
    assert unlink_govuk("https://www.gov.uk/x gov.uk/path") == "https://www.gov.uk/x gov.uk/path"
    email = render_email("Visit GOV.UK", "GOV.UK")
    assert email.plain_text == f"Visit GOV.{ZWSP}UK\n"
    assert f"Visit GOV.{ZWSP}UK" in email.html_body
    assert email.body == "Visit GOV.UK"
    assert email.subject == "GOV.UK"


def test_smart_quotes_and_en_dashes_everywhere_but_the_markdown_body() -> None:
    email = render_email('It\'s "great" - really , truly.', 'Re: "it\'s" - ok')
    assert email.body == 'It\'s "great" - really , truly.'
    assert email.plain_text == "It’s “great” – really, truly.\n"
    assert "It’s “great” – really, truly." in email.html_body
    assert email.subject == "Re: “it’s” – ok"


def test_quotes_around_a_link_open_and_close() -> None:
    assert plain('"[link](https://x.com)"') == "“link: https://x.com”\n"


def test_email_addresses_keep_straight_apostrophes() -> None:
    assert plain("Write to o'brien@example.com") == "Write to o'brien@example.com\n"


def test_body_is_the_markdown_with_placeholders_filled() -> None:
    email = render_email("Hi ((name))\nItems:((items))\n", "S", {"name": "Jo", "items": ["a", "b"]})
    assert email.body == "Hi Jo\nItems:\n\n* a\n* b"
    assert email.plain_text == "Hi Jo\nItems:\n\n• a\n• b\n"


def test_list_values_in_each_email_context() -> None:
    email = render_email("((x))", "((x))", {"x": ["a", None, "", "b", "c"]})
    assert email.body == "* a\n* b\n* c"
    assert email.subject == "a, b and c"
    assert email.plain_text == "• a\n• b\n• c\n"
    assert "<ul" in email.html_body


@pytest.mark.parametrize(
    ("subject", "values", "expected"),
    [
        ("  Hello\n\t((name))  \u200bthere\u00a0 ", {"name": "Jo"}, "Hello Jo there"),
        ("((a)) ((b??yes)) ((c))", {"a": "A", "b": "no", "c": "C"}, "A C"),
        ("Re: ((v))", {"v": "<b>&</b>"}, "Re: <b>&</b>"),
        ("Re: ((v))", {"v": ["x", "y"]}, "Re: x and y"),
    ],
)
def test_subjects(subject: str, values: dict[str, object], expected: str) -> None:
    assert render_subject(subject, values) == expected


SCRIPT = "<script>alert(1)</script>"


@pytest.mark.parametrize(
    "content",
    ["((v))", "# ((v))", "* ((v))", "^ ((v))", "[((v))](https://x.com)", "[x](https://x.com/((v)))", "((v??yes))"],
)
def test_values_are_escaped_in_html_and_left_alone_in_plain_text(content: str) -> None:
    email = render_email(content, "((v))", {"v": SCRIPT}, service_name=SCRIPT, brand=EmailBrand())
    assert SCRIPT not in email.html
    assert "<script" not in email.html.lower()
    assert SCRIPT not in email.html_body
    if content.startswith("((v))"):
        assert SCRIPT in email.plain_text
    assert email.subject == SCRIPT
    assert f"<title>{'&lt;script&gt;alert(1)&lt;/script&gt;'}</title>" in email.html


def test_html_document_has_the_layout_preheader_and_optional_banner() -> None:
    email = render_email("Hello", "Subject", service_name="Tax & Co", brand=EmailBrand(colour="#005ea5"))
    assert email.html.startswith("<!DOCTYPE html>")
    assert "font-family: Arial, Helvetica, sans-serif; font-size: 19px" in email.html
    assert 'bgcolor="#005ea5"' in email.html
    assert ">Tax &amp; Co</td>" in email.html
    assert "display: none" in email.html
    assert email.html_body in email.html
    assert "bgcolor" not in render_email("Hello", "Subject", service_name="Tax").html
    assert ">Ours</td>" in render_email("x", "s", service_name="Tax", brand=EmailBrand(name="Ours")).html


@pytest.mark.parametrize("colour", ["red", "#12345", '#fff" onload="x', ""])
def test_brand_colours_must_be_hex(colour: str) -> None:
    with pytest.raises(ValueError, match="not a hex colour"):
        EmailBrand(colour=colour)


def test_preheader_is_the_first_256_characters_of_text() -> None:
    blocks = parse("# Title\n\nSee [the guide](https://x.com) now\n\n---\n\n* one\n* two\n\n^ Inset")
    assert preheader(blocks) == "Title See the guide now one two Inset"
    long = parse("word " * 100)
    assert preheader(long) == ("word " * 52)[:256].strip()
    assert len(preheader(long)) <= 256
    email = render_email("Tom & Jerry <3", "S")
    assert email.preheader == "Tom & Jerry <3"
    assert ">Tom &amp; Jerry &lt;3</span>" in email.html


def test_unsubscribe_link_is_appended_after_a_rule() -> None:
    assert append_unsubscribe_link("Hello\n", "https://x.com/u?a=1&b=(2)") == (
        "Hello\n\n---\n\n[Unsubscribe from these emails](<https://x.com/u?a=1&b=(2)>)"
    )
    assert append_unsubscribe_link("Hi", "https://x.com/<a> b") == (
        "Hi\n\n---\n\n[Unsubscribe from these emails](<https://x.com/%3Ca%3E%20b>)"
    )
    email = render_email("Hello", "S", unsubscribe_url="https://example.com/unsubscribe/1/abc")
    assert email.body == "Hello"
    assert (
        email.plain_text == f"Hello\n\n{RULE}\n\nUnsubscribe from these emails: https://example.com/unsubscribe/1/abc\n"
    )
    assert '<a style="word-wrap: break-word; color: #1d70b8;" href="https://example.com/unsubscribe/1/abc">' in (
        email.html_body
    )


@pytest.mark.parametrize(
    ("content", "values", "empty"),
    [
        ("((a))", {"a": ""}, True),
        ("((a))", {"a": "  \n "}, True),
        ("((a))((b??x))", {"a": "", "b": "no"}, True),
        ("((a))", {"a": []}, True),
        ("((a)) ((b))", {"a": "", "b": ""}, True),
        ("", {}, True),
        ("   ", {}, True),
        ("((a))", {"a": "x"}, False),
        ("Hi ((a))", {"a": ""}, False),
        ("((a)).", {"a": ""}, False),
        ("((a??Hello))", {"a": "yes"}, False),
    ],
)
def test_empty_rule(content: str, values: dict[str, object], empty: bool) -> None:
    assert render_email(content, "S", values).is_empty is empty


def test_is_empty_helper_for_letters() -> None:
    assert is_empty("((a))", "") is True
    assert is_empty("((a)) text", "") is False


def test_size_is_the_plain_text_in_utf8_bytes() -> None:
    # The part's closing newline is the renderer's, not the message's: it is not counted.
    assert render_email("£", "S").size_in_bytes == 2
    assert render_email("😀", "S").size_in_bytes == 4
    at_limit = render_email("a" * EMAIL_MAX_BYTES, "S")
    assert at_limit.size_in_bytes == EMAIL_MAX_BYTES
    assert not at_limit.is_too_long
    over = render_email("a" * (EMAIL_MAX_BYTES + 1), "S")
    assert over.size_in_bytes == EMAIL_MAX_BYTES + 1
    assert over.is_too_long


def test_missing_values_stay_as_placeholders() -> None:
    email = render_email("Hi ((name))", "((subject))", {})
    assert email.body == "Hi ((name))"
    assert email.subject == "((subject))"
    assert email.plain_text == "Hi ((name))\n"
