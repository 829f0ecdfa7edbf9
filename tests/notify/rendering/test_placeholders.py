"""Placeholders, optional text, list values and missing names (spec §9.1, §9.2, §7)."""

from __future__ import annotations

import html

import pytest

from services.notify.rendering.placeholders import (
    ListStyle,
    Personalisation,
    Placeholder,
    fill,
    format_inline_list,
    is_truthy,
    missing,
    normalise_name,
    placeholders,
    template_personalisation,
)


@pytest.mark.parametrize("key", ["first name", "first_name", "FIRSTNAME", "first-name", "First Name", "f_i-r s tname"])
def test_names_match_ignoring_case_spaces_underscores_and_hyphens(key: str) -> None:
    assert fill("Hi ((First name))", {key: "Amala"}) == "Hi Amala"


@pytest.mark.parametrize(
    ("name", "normalised"),
    [("First name", "firstname"), ("first_name", "firstname"), ("A-B_C D", "abcd"), ("ÉCOLE", "école")],
)
def test_normalise_name(name: str, normalised: str) -> None:
    assert normalise_name(name) == normalised


def test_personalisation_is_an_insensitive_mapping_keeping_caller_keys() -> None:
    values = Personalisation({"First_Name": "a", "ref": 1})
    assert values["first name"] == "a"
    assert "FIRST-NAME" in values
    assert 42 not in values
    assert list(values) == ["First_Name", "ref"]
    assert len(values) == 2
    assert values.get("missing") is None
    assert Personalisation.of(values) is values


def test_later_keys_win_when_two_normalise_alike() -> None:
    assert fill("((a b))", {"a_b": "first", "A-B": "second"}) == "second"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        (42, "42"),
        (1.5, "1.5"),
        (True, "True"),
        ({"a": 1}, "{'a': 1}"),
        ("\ud800x", "\ufffdx"),  # a lone surrogate from JSON cannot be encoded: replaced
    ],
)
def test_values_are_converted_with_str(value: object, expected: str) -> None:
    assert fill("((v))", {"v": value}) == expected


def test_null_counts_as_missing_and_leaves_the_placeholder() -> None:
    assert fill("Hi ((name)) ((x??shown))", {"name": None, "x": None}) == "Hi ((name)) ((x??shown))"
    assert missing("Hi ((name))", {"name": None}) == ["name"]


def test_keys_without_placeholders_are_ignored() -> None:
    assert fill("Hello", {"unused": "value"}) == "Hello"


@pytest.mark.parametrize(
    ("value", "markdown", "inline"),
    [
        (["a", "b", "c"], "\n\n* a\n* b\n* c", "a, b and c"),
        (["a", "b"], "\n\n* a\n* b", "a and b"),
        (["a"], "\n\n* a", "a"),
        ([], "", ""),
        (["a", None, "", "  ", "b"], "\n\n* a\n* b", "a and b"),
        ([None, ""], "", ""),
        ([" a ", "\u200bb"], "\n\n* a\n* b", "a and b"),
        ([1, 2.5, True], "\n\n* 1\n* 2.5\n* True", "1, 2.5 and True"),
        ([["x", "y"], "z"], "\n\n* ['x', 'y']\n* z", "['x', 'y'] and z"),
    ],
)
def test_list_values(value: list[object], markdown: str, inline: str) -> None:
    assert fill("((list))", {"list": value}) == markdown
    assert fill("((list))", {"list": value}, lists=ListStyle.INLINE) == inline


def test_list_formatting_helper() -> None:
    assert format_inline_list([]) == ""
    assert format_inline_list(["one", "two", "three", "four"]) == "one, two, three and four"


@pytest.mark.parametrize("value", ["yes", "Y", "true", "T", "1", "include", "SHOW", "Yes", 1, True])
def test_optional_text_shows_for_truthy_values(value: object) -> None:
    assert is_truthy(value)
    assert fill("a ((flag??shown)) b", {"flag": value}) == "a shown b"


@pytest.mark.parametrize("value", ["no", "false", "0", "", "nope", " yes", 0, False, [], ["yes"], 2])
def test_optional_text_hides_for_other_values(value: object) -> None:
    assert not is_truthy(value)
    assert fill("a ((flag??shown)) b", {"flag": value}) == "a  b"


def test_optional_name_is_everything_before_the_first_double_question_mark() -> None:
    placeholder = Placeholder("has dog??Bring ??your dog??")
    assert placeholder.name == "has dog"
    assert placeholder.conditional_text == "Bring ??your dog??"
    assert fill("((has dog??Bring ??your dog??))", {"HAS_DOG": "yes"}) == "Bring ??your dog??"
    assert Placeholder("plain").conditional_text == ""


def test_optional_text_is_template_text_so_values_inside_are_not_filled_twice() -> None:
    # One pass: a value containing a placeholder is not read again.
    assert fill("((a)) ((b))", {"a": "((b))", "b": "B"}) == "((b)) B"


@pytest.mark.parametrize(
    "text",
    ["(())", "((a)", "(a))", "((a(b)))", "( (a) )"],
)
def test_text_that_is_not_a_placeholder_is_left_alone(text: str) -> None:
    assert placeholders(text) == []
    assert fill(text, {"a": "x", "b": "y"}) == text


def test_placeholder_inside_extra_brackets() -> None:
    assert fill("(((a)))", {"a": "x"}) == "(x)"
    assert placeholders("(((a)))") == ["a"]


def test_escape_applies_to_values_only() -> None:
    filled = fill(html.escape("<b>((v))</b>"), {"v": "<script>"}, escape=html.escape)
    assert filled == "&lt;b&gt;&lt;script&gt;&lt;/b&gt;"
    listed = fill("((v))", {"v": ["<i>", "b"]}, escape=html.escape, lists=ListStyle.INLINE)
    assert listed == "&lt;i&gt; and b"


def test_placeholders_are_ordered_unique_and_spelt_as_first_written() -> None:
    text = "((b)) ((A)) ((a)) ((b??x)) ((first name)) ((First_Name)) ((c??y))"
    assert placeholders(text) == ["b", "A", "first name", "c"]
    assert placeholders("((s))", None, "((t)) ((S))") == ["s", "t"]
    assert placeholders("") == []


def test_missing_lists_names_as_written_in_order_without_duplicates() -> None:
    assert missing("((b)) ((a)) ((B)) ((c??x))", {"A": "1"}) == ["b", "c"]
    assert missing(["Subject ((s))", "Body ((t)) ((s))"], {}) == ["s", "t"]
    assert missing("No placeholders", None) == []
    assert missing("((a))", {"a": ""}) == []  # an empty string is a value


def test_template_personalisation_map_lists_subject_then_body() -> None:
    assert template_personalisation("Hello ((first name)) ((ref))", "About ((ref))") == {
        "ref": {"required": True},
        "first name": {"required": True},
    }
    assert template_personalisation("No placeholders") == {}
