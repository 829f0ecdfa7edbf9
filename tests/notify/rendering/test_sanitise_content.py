"""``sanitise_content_for`` on email sends (spec §5.3)."""

from __future__ import annotations

import pytest

from services.notify.rendering import render_email, sanitise_content_for
from services.notify.rendering.placeholders import sanitise_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Amala", "Amala"),
        ("Visit https://evil.example/login now", "Visit  now"),
        ("HTTP://EVIL.EXAMPLE", ""),
        ("(see https://x.com/a)", "\\(see \\)"),
        ("Check www.example.com!", "Check \\!"),
        ("go to example.com/path?x=1, ok", "go to , ok"),
        ("ftp://files.example", ""),
        ("see gov.uk.", "see gov\\. uk\\."),
        ("GOV.UK", "GOV\\. UK"),
        ("a.service.gov.uk", "a\\. service\\. gov\\. uk"),
        ("jo.smith@gov.uk", "jo\\.smith@gov\\.uk"),
        ("3.50", "3\\.50"),
        ("# Heading", "\\# Heading"),
        ("* bullet", "\\* bullet"),
        ("[link](x)", "\\[link\\]\\(x\\)"),
        ("<b>", "\\<b\\>"),
        ("`*_(){}[]<>#+-.!|\\", "\\`\\*\\_\\(\\)\\{\\}\\[\\]\\<\\>\\#\\+\\-\\.\\!\\|\\\\"),
        ("^ = ~ : ; ' \"", "^ = ~ : ; ' \""),
    ],
)
def test_sanitise_text(text: str, expected: str) -> None:
    assert sanitise_text(text) == expected


def test_only_listed_keys_are_sanitised_matching_case_insensitively() -> None:
    values, changes = sanitise_content_for(
        {"User_Name": "# Jo", "other": "# Heading", "plain": "Amala", "none": None},
        ["user name", "PLAIN", "NONE", "absent"],
    )
    assert values == {"User_Name": "\\# Jo", "other": "# Heading", "plain": "Amala", "none": None}
    assert changes == {"User_Name": {"unsanitised": "# Jo", "sanitised": "\\# Jo"}}


def test_nothing_to_do() -> None:
    assert sanitise_content_for({"a": "# x"}, None) == ({"a": "# x"}, {})
    assert sanitise_content_for(None, ["a"]) == ({}, {})


def test_non_text_values_are_converted_and_recorded_only_when_they_change() -> None:
    values, changes = sanitise_content_for({"n": 3.5, "i": 7}, ["n", "i"])
    assert values == {"n": "3\\.5", "i": 7}
    assert changes == {"n": {"unsanitised": 3.5, "sanitised": "3\\.5"}}


def test_lists_are_sanitised_item_by_item() -> None:
    values, changes = sanitise_content_for({"l": ["* a", None, "b", 1.5]}, ["l"])
    assert values == {"l": ["\\* a", None, "b", "1\\.5"]}
    assert changes == {"l": {"unsanitised": ["* a", None, "b", 1.5], "sanitised": ["\\* a", None, "b", "1\\.5"]}}
    assert sanitise_content_for({"l": ["a", "b"]}, ["l"]) == ({"l": ["a", "b"]}, {})


def test_sanitised_values_render_literally() -> None:
    hostile = "# Click [here](https://evil.example) or visit evil.example\n---\n* x"
    values, _ = sanitise_content_for({"name": hostile}, ["name"])
    email = render_email("Hello ((name))", "S", values)
    assert email.plain_text == "Hello # Click [here]() or visit evil. example\n---\n* x\n"
    assert "<a " not in email.html_body
    assert "<hr" not in email.html_body
    assert "<h2" not in email.html_body
