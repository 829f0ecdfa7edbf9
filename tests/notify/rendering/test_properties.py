"""Properties that must hold for any template and any personalisation (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify.rendering import (
    fragment_count,
    missing,
    placeholders,
    render_email,
    render_sms,
    sanitise_content_for,
)
from services.notify.rendering.sms import GSM_CHARACTERS, WELSH_NON_GSM_CHARACTERS, sanitise, utf16_length

settings.register_profile("rendering", deadline=None, max_examples=150)
settings.load_profile("rendering")

PIECES = [
    "((a))", "((b??shown))", "((A_b))", "((list))", "((", "))", "??", "\n", "\n\n", "# ", "## ", "### ", "* ", "- ",
    "• ", "1. ", "^ ", "---", "***", "[", "]", "(", ")", "](", "<", ">", "http://", "https://x.com/a_(b)", "\\", "|",
    "| --- |", "![", "[^1]", "[^1]: ", "GOV.UK", '"', "'", " - ", " , ", "\t", "\u00a0", "\u200b", "€", "ŵ", "😀",
    "<script>", "&amp;", "\r\n",
]  # fmt: skip

template_text = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(PIECES)), max_size=40).map("".join)

lone_surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    template_text,
    lone_surrogates,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=15,
)
names = st.one_of(st.sampled_from(["a", "b", "A b", "list", "LIST", "first_name"]), st.text(max_size=10))
personalisations = st.dictionaries(names, json_values, max_size=6)

ALLOWED_TAGS = {"p", "br", "h2", "h3", "ul", "ol", "li", "table", "tr", "td", "div", "blockquote", "hr", "a"}


@given(template_text, template_text, personalisations)
def test_email_rendering_never_raises_and_only_emits_known_tags(
    content: str, subject: str, values: dict[str, object]
) -> None:
    email = render_email(content, subject, values, service_name="Service", unsubscribe_url="https://x.com/u")
    tags = {name.lower() for name in re.findall(r"</?([A-Za-z][A-Za-z0-9]*)", email.html_body)}
    assert tags <= ALLOWED_TAGS
    assert "\n" not in email.subject
    assert email.plain_text.endswith("\n")
    assert email.size_in_bytes >= 1
    assert "<script" not in email.html.lower()


@given(template_text, personalisations, st.one_of(st.none(), st.text(max_size=20)), st.booleans())
def test_sms_rendering_never_raises(content: str, values: dict[str, object], prefix: str | None, unicode: bool) -> None:
    sms = render_sms(content, values, prefix=prefix, unicode=unicode)
    assert sms.character_count == utf16_length(sms.body)
    assert sms.fragment_count >= 1
    assert sms.body == sms.body.strip()
    assert sms.message.endswith(sms.body)
    if not unicode:
        assert set(sms.message) <= GSM_CHARACTERS | WELSH_NON_GSM_CHARACTERS


@given(st.text(), st.text(), st.booleans())
def test_fragment_counts_never_fall_as_text_grows(start: str, extra: str, unicode: bool) -> None:
    shorter = sanitise(start, unicode=unicode)
    longer = shorter + sanitise(extra, unicode=unicode)
    assert fragment_count(shorter, unicode=unicode) <= fragment_count(longer, unicode=unicode)


@given(st.sampled_from(["x", "€", "ŵ", "😀", "^"]), st.integers(min_value=0, max_value=1200), st.booleans())
def test_fragment_counts_are_monotonic_in_length(char: str, length: int, unicode: bool) -> None:
    text = sanitise(char, unicode=unicode)
    assert fragment_count(text * length, unicode=unicode) <= fragment_count(text * (length + 1), unicode=unicode)


@given(template_text, template_text)
def test_giving_every_placeholder_a_value_leaves_nothing_missing(content: str, subject: str) -> None:
    values: dict[str, object] = dict.fromkeys(placeholders(subject, content), "value")
    assert missing([subject, content], values) == []
    assert missing([subject, content], {}) == placeholders(subject, content)


@given(st.text(max_size=200))
def test_sanitised_values_never_become_links_headings_or_rules(value: str) -> None:
    values, changes = sanitise_content_for({"v": value}, ["V"])
    email = render_email("((v))", "Subject", values)
    assert "<a " not in email.html_body
    assert "<h2" not in email.html_body
    assert "<h3" not in email.html_body
    assert "<hr" not in email.html_body
    assert (values["v"] != value) == ("v" in changes)
