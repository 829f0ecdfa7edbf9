"""Texts for pages that are chosen in Python. They are marked with `N_` ("translate later"): the page translates
them at render, and the Welsh catalogue test finds them the way it finds the templates' own."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from gaap.pages import missing_translations

HERE = Path(__file__).resolve().parent


def N_(message: str) -> str:
    return message


def missing_welsh() -> list[str]:
    """Message ids, from the templates and from `N_` in the code, that the Welsh catalogue lacks."""
    from gaap.pages.i18n import Catalogues

    missing = set(missing_translations([HERE / "templates"], [HERE / "locale"], "cy"))
    welsh = Catalogues([HERE / "locale"]).translations("cy")
    method = [("**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(HERE, method, keywords={"N_": None}):
        if isinstance(message, str) and welsh.gettext(message) == message:
            missing.add(message)
    return sorted(missing)
