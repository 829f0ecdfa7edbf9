"""The Markdown dialect, parsed to blocks (spec §9.3)."""

from __future__ import annotations

import pytest

from services.notify.rendering.markdown import (
    Block,
    Heading,
    Inset,
    LineBreak,
    Link,
    ListBlock,
    Paragraph,
    Rule,
    Text,
    parse,
    parse_inline,
)


def paragraph(*content: Text | LineBreak | Link) -> Paragraph:
    return Paragraph(tuple(content))


@pytest.mark.parametrize(
    ("source", "blocks"),
    [
        ("# Title", (Heading(1, (Text("Title"),)),)),
        ("## Title", (Heading(2, (Text("Title"),)),)),
        ("#Title", (Heading(1, (Text("Title"),)),)),
        ("## Title ##", (Heading(2, (Text("Title"),)),)),
        ("# C#", (Heading(1, (Text("C#"),)),)),
        ("### Deep", (paragraph(Text("Deep")),)),
        ("###### Deepest", (paragraph(Text("Deepest")),)),
        ("####### Too deep", (paragraph(Text("####### Too deep")),)),
        ("#", ()),
        ("---", (Rule(),)),
        ("***", (Rule(),)),
        ("- - -", (Rule(),)),
        ("___", (Rule(),)),
        ("--", (paragraph(Text("--")),)),
        ("* a\n- b\n• c\n•d", (ListBlock(False, ((Text("a"),), (Text("b"),), (Text("c"),), (Text("d"),))),)),
        ("1. one\n2. two\n10. ten", (ListBlock(True, ((Text("one"),), (Text("two"),), (Text("ten"),))),)),
        ("+ plus", (paragraph(Text("+ plus")),)),
        ("*emphasis*", (paragraph(Text("*emphasis*")),)),
        ("1.5 million", (paragraph(Text("1.5 million")),)),
        ("^ inset", (Inset((paragraph(Text("inset")),)),)),
        ("^inset", (Inset((paragraph(Text("inset")),)),)),
        ("", ()),
        ("\n\n  \n", ()),
    ],
)
def test_blocks(source: str, blocks: tuple[Block, ...]) -> None:
    assert parse(source) == blocks


def test_newlines_are_hard_breaks_and_blank_lines_separate_paragraphs() -> None:
    assert parse("one\r\ntwo  \n  three\n\n\nfour") == (
        paragraph(Text("one"), LineBreak(), Text("two"), LineBreak(), Text("three")),
        paragraph(Text("four")),
    )


def test_a_list_may_follow_a_line_of_text_directly() -> None:
    # This is how list values arrive: "Items:" + "\n\n* a\n* b", and how people type lists.
    assert parse("Items:\n* a\n* b") == (
        paragraph(Text("Items:")),
        ListBlock(False, ((Text("a"),), (Text("b"),))),
    )


def test_only_an_ordered_list_starting_at_one_interrupts_a_paragraph() -> None:
    assert parse("Born in\n1984. It rained") == (paragraph(Text("Born in"), LineBreak(), Text("1984. It rained")),)
    assert parse("Steps:\n1. a") == (paragraph(Text("Steps:")), ListBlock(True, ((Text("a"),),)))


def test_list_items_continue_over_lines_and_blank_lines_between_items() -> None:
    assert parse("* a\n  more\n\n* b\n\nafter") == (
        ListBlock(False, ((Text("a"), LineBreak(), Text("more")), (Text("b"),))),
        paragraph(Text("after")),
    )


def test_a_different_kind_of_list_starts_a_new_list_and_nesting_is_flattened() -> None:
    assert parse("* a\n  * nested\n1. one") == (
        ListBlock(False, ((Text("a"),), (Text("nested"),))),
        ListBlock(True, ((Text("one"),),)),
    )


def test_inset_text_spans_caret_lines_and_text_run_on_from_them() -> None:
    assert parse("^ one\nrun on\n^\n^ two\n\n^ three\n\nafter") == (
        Inset(
            (
                paragraph(Text("one"), LineBreak(), Text("run on")),
                paragraph(Text("two")),
                paragraph(Text("three")),
            )
        ),
        paragraph(Text("after")),
    )


def test_a_list_or_heading_typed_straight_after_an_inset_ends_it() -> None:
    assert parse("^ note\n* a\n# H") == (
        Inset((paragraph(Text("note")),)),
        ListBlock(False, ((Text("a"),),)),
        Heading(1, (Text("H"),)),
    )


def test_blocks_inside_an_inset_and_no_nested_insets() -> None:
    assert parse("^ # Title\n^ * a\n^\n^ ^ b") == (
        Inset((Heading(1, (Text("Title"),)), ListBlock(False, ((Text("a"),),)), paragraph(Text("^ b")))),
    )


def test_tables_and_footnotes_are_removed() -> None:
    source = "before\n\n| a | b |\n| --- | :-: |\n| 1 | 2 |\n\nnote[^1] here\n\n[^1]: the note\n  more note\n\nafter"
    assert parse(source) == (paragraph(Text("before")), paragraph(Text("note here")), paragraph(Text("after")))


def test_a_pipe_without_a_delimiter_row_is_text() -> None:
    assert parse("a | b\nc | d") == (paragraph(Text("a | b"), LineBreak(), Text("c | d")),)


@pytest.mark.parametrize(
    ("source", "content"),
    [
        ("[text](https://x.com)", (Link("text", "https://x.com"),)),
        ('[text](https://x.com "Title")', (Link("text", "https://x.com", "Title"),)),
        ("[text]( <https://x.com/a b> )", (Link("text", "https://x.com/a b"),)),
        ("[w](https://en.wikipedia.org/wiki/A_(b))", (Link("w", "https://en.wikipedia.org/wiki/A_(b)"),)),
        ("[](https://x.com)", (Link("https://x.com", "https://x.com"),)),
        ("[a \\] b](u)", (Link("a ] b", "u"),)),
        ("[not a link] (u)", (Text("[not a link] (u)"),)),
        ("[unclosed](u", (Text("[unclosed](u"),)),
        ("<https://x.com/a>", (Link("https://x.com/a", "https://x.com/a", auto=True),)),
        ("<b>bold</b>", (Text("<b>bold</b>"),)),
        (
            "go to https://x.com/a?b=1.",
            (Text("go to "), Link("https://x.com/a?b=1", "https://x.com/a?b=1", auto=True), Text(".")),
        ),
        ("(https://x.com)", (Text("("), Link("https://x.com", "https://x.com", auto=True), Text(")"))),
        ("xhttps://x.com", (Text("xhttps://x.com"),)),
        ("http://", (Text("http://"),)),
        ("![alt](https://x/i.png) after", (Text("after"),)),
        ("![not an image", (Text("![not an image"),)),
        ("note[^1]", (Text("note"),)),
        ("\\*not a list\\* \\# \\[x\\](y) \\q \\", (Text("*not a list* # [x](y) \\q \\"),)),
        ("`code` ~~strike~~ __bold__", (Text("`code` ~~strike~~ __bold__"),)),
    ],
)
def test_inline(source: str, content: tuple[Text | LineBreak | Link, ...]) -> None:
    assert parse_inline(source) == content


def test_links_in_link_text_are_plain_text() -> None:
    assert parse_inline("[see https://a.com](https://b.com)") == (Link("see https://a.com", "https://b.com"),)
