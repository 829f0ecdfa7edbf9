"""Text messages: normalising, sanitising, encodings and fragments (spec §9.5, §18.5)."""

from __future__ import annotations

import pytest

from services.notify.rendering import SMS_CHARACTER_LIMIT, SmsEncoding, fragment_count, render_sms
from services.notify.rendering.sms import (
    GSM_CHARACTERS,
    WELSH_NON_GSM_CHARACTERS,
    encoding_of,
    normalise,
    sanitise,
    sanitise_character,
    utf16_length,
)

GSM7 = SmsEncoding.GSM7
UCS2 = SmsEncoding.UCS2


def test_the_spec_checks() -> None:
    assert render_sms("x" * 161).fragment_count == 2
    assert render_sms("ŵ" * 71).fragment_count == 2
    assert render_sms("€" * 80).fragment_count == 1


@pytest.mark.parametrize(
    ("text", "fragments", "encoding"),
    [
        ("x", 1, GSM7),
        ("x" * 160, 1, GSM7),
        ("x" * 161, 2, GSM7),
        ("x" * 306, 2, GSM7),
        ("x" * 307, 3, GSM7),
        ("x" * 459, 3, GSM7),
        ("x" * 460, 4, GSM7),
        ("x" * 918, 6, GSM7),
        ("€" * 80, 1, GSM7),  # 160 septets
        ("€" * 81, 2, GSM7),  # 162 septets
        ("x" * 159 + "^", 2, GSM7),  # the extension character crosses the boundary
        ("x" * 158 + "^", 1, GSM7),
        ("x" * 152 + "[", 1, GSM7),  # 154 septets: still one fragment (≤ 160)
        ("x" * 153 + "~" + "x" * 152, 3, GSM7),  # 306 characters but 307 septets
        ("x" * 305 + "|", 3, GSM7),  # 307 septets
        ("{}\\[~]|^€", 1, GSM7),
        ("ŵ" * 70, 1, UCS2),
        ("ŵ" * 71, 2, UCS2),
        ("ŵ" * 134, 2, UCS2),
        ("ŵ" * 135, 3, UCS2),
        ("ŵ" + "x" * 69, 1, UCS2),
        ("ŵ" + "x" * 70, 2, UCS2),
        ("ŵ" + "€" * 69, 1, UCS2),  # in UCS-2 extension characters count once
        ("ŵ" + "x" * 200, 3, UCS2),  # 201 units
    ],
)
def test_fragment_boundaries(text: str, fragments: int, encoding: SmsEncoding) -> None:
    rendered = render_sms(text)
    assert rendered.fragment_count == fragments
    assert rendered.encoding is encoding
    assert fragment_count(text) == fragments


def test_the_prefix_counts_towards_fragments_but_not_the_limit() -> None:
    rendered = render_sms("x" * 152, prefix="Service")  # "Service: " is 9 more
    assert rendered.message == "Service: " + "x" * 152
    assert rendered.body == "x" * 152
    assert rendered.character_count == 152
    assert rendered.fragment_count == 2
    assert render_sms("x" * 151, prefix="Service").fragment_count == 1


def test_a_welsh_prefix_makes_the_message_ucs2() -> None:
    rendered = render_sms("hello", prefix="Cyngor Ŵ")
    assert rendered.encoding is UCS2
    assert rendered.message == "Cyngor Ŵ: hello"


def test_prefix_is_normalised_and_sanitised_and_empty_prefix_is_none() -> None:
    assert render_sms("hi", prefix="  My   “Service”\n ").message == 'My "Service": hi'
    assert render_sms("hi", prefix="  ").message == "hi"
    assert render_sms("", prefix="Service").message == "Service:"


@pytest.mark.parametrize(
    ("length", "too_long"),
    [(918, False), (919, True)],
)
def test_the_918_limit_is_measured_without_prefix(length: int, too_long: bool) -> None:
    rendered = render_sms("x" * length, prefix="A long service name")
    assert rendered.character_count == length
    assert rendered.is_too_long is too_long
    assert SMS_CHARACTER_LIMIT == 918


def test_extension_characters_are_counted_once_for_the_limit() -> None:
    rendered = render_sms("€" * 918)
    assert rendered.character_count == 918
    assert not rendered.is_too_long
    assert rendered.fragment_count == 12  # 1836 septets


@pytest.mark.parametrize(
    ("content", "values", "empty"),
    [
        ("", {}, True),
        ("  \n\t ", {}, True),
        ("((a))", {"a": ""}, True),
        ("((a))", {"a": "\u200b"}, True),
        ("((a??x))", {"a": "no"}, True),
        ("x", {}, False),
    ],
)
def test_empty_when_the_count_without_prefix_is_zero(content: str, values: dict[str, object], empty: bool) -> None:
    assert render_sms(content, values, prefix="Service").is_empty is empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  hello  ", "hello"),
        ("a   b\t\tc", "a b c"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("  a  \n  b  ", "a\nb"),
        ("a\u200bb\ufeff", "ab"),
        ("a\u00a0\u202fb", "a b"),
        ("Hello , world .", "Hello, world."),
        ("a\u2028b", "a\nb"),
        ("a \u00a0. b\u3000,", "a. b,"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello", "Hello"),
        ("“double” ‘single’ it’s", "\"double\" 'single' it's"),
        ("en – em — ellipsis…", "en - em - ellipsis..."),
        ("ç ő ñ ß Ł ł ą ê", "c o ñ ß L l a ê"),  # ñ and ß are GSM; ê is Welsh
        ("😀 中文 Привет", "? ?? ??????"),
        ("tab\there", "tab here"),
        ("zero\u200bwidth", "zerowidth"),
        ("ẹ ệ ǖ", "e e ü"),  # downgraded until GSM-7 (ǖ → ü, which GSM has)
        ("\x00 \x1b \x07", "? ? ?"),
        ("\ud800", "?"),
    ],
)
def test_sanitise_gsm(text: str, expected: str) -> None:
    assert sanitise(text) == expected


def test_welsh_characters() -> None:
    spec_list = "ÀÁÂÈÊËÌÍÎÏÒÓÔÙÚÛÝáâêëíîïóôúûýÿŴŵŶŷŸẀẁẂẃẄẅỲỳ"
    assert set(spec_list) == WELSH_NON_GSM_CHARACTERS
    assert not WELSH_NON_GSM_CHARACTERS & GSM_CHARACTERS
    assert set("ÄÉÖÜàäèéìòöùü") <= GSM_CHARACTERS
    assert sanitise(spec_list) == spec_list
    assert encoding_of("Diolch yn fawr") is GSM7
    assert encoding_of("Croeso i’r ŵyl") is UCS2
    rendered = render_sms("Mae’r ŵyl yn dechrau")
    assert rendered.body == "Mae'r ŵyl yn dechrau"
    assert rendered.encoding is UCS2


def test_gsm_welsh_letters_do_not_force_ucs2() -> None:
    rendered = render_sms("Ä É Ö Ü à ä è é ì ò ö ù ü" + "x" * 134)  # 160 characters
    assert rendered.encoding is GSM7
    assert rendered.fragment_count == 1


def test_lists_and_placeholders_in_sms() -> None:
    rendered = render_sms(
        "Hi ((name)), items: ((items)).((extra??  PS.))",
        {"NAME": "Jo", "items": ["a", None, "", "b", "c"], "extra": "y"},
    )
    assert rendered.body == "Hi Jo, items: a, b and c. PS."


def test_html_is_left_as_is_in_sms() -> None:
    assert render_sms("((v))", {"v": "<b>&amp;</b>"}).body == "<b>&amp;</b>"


@pytest.mark.parametrize(
    ("text", "body", "encoding", "count", "fragments"),
    [
        ("Hello", "Hello", GSM7, 5, 1),
        ("Hi 😀", "Hi 😀", UCS2, 5, 1),  # the emoji is two UTF-16 units
        ("“quoted” – ok", "“quoted” – ok", UCS2, 13, 1),
        ("Привет" * 12, "Привет" * 12, UCS2, 72, 2),
        ("😀" * 35, "😀" * 35, UCS2, 70, 1),
        ("😀" * 36, "😀" * 36, UCS2, 72, 2),
        ("a\u200bb\tc\x00", "ab c?", GSM7, 5, 1),
        ("€" * 80, "€" * 80, GSM7, 80, 1),
    ],
)
def test_unicode_option(text: str, body: str, encoding: SmsEncoding, count: int, fragments: int) -> None:
    rendered = render_sms(text, unicode=True)
    assert rendered.body == body
    assert rendered.encoding is encoding
    assert rendered.character_count == count
    assert rendered.fragment_count == fragments


def test_unicode_option_counts_the_prefix() -> None:
    rendered = render_sms("中" * 66, prefix="S", unicode=True)  # "S: " + 66 = 69
    assert rendered.fragment_count == 1
    assert render_sms("中" * 68, prefix="S", unicode=True).fragment_count == 2


def test_sanitise_character_in_unicode_mode() -> None:
    assert sanitise_character("😀", unicode=True) == "😀"
    assert sanitise_character("\t", unicode=True) == " "
    assert sanitise_character("\u200b", unicode=True) == ""
    assert sanitise_character("\u3000", unicode=True) == " "
    assert sanitise_character("\x07", unicode=True) == "?"


def test_utf16_length() -> None:
    assert utf16_length("") == 0
    assert utf16_length("abc") == 3
    assert utf16_length("😀") == 2
    assert utf16_length("\ud800") == 1
