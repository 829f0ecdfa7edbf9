"""English and Welsh message catalogues, and the choice of language for one request.

Catalogues are gettext `.po` files under `<dir>/<lang>/LC_MESSAGES/messages.po`. They are read with Babel and
compiled in memory once, at start-up, so no `.mo` file is ever committed or left stale. The kernel's catalogue
(`gaap/pages/locale/`) holds the layout's and error pages' texts; a component adds its own directory, and its
messages are merged over the kernel's, so it can also reword a kernel text.

The language is `en` by default. `cy` (Welsh) is chosen, in order of precedence, by an explicit override
(identity passes the first supported tag of an OIDC `ui_locales`), a `lang` query parameter (the language
toggle's links), or the `lang` cookie the toggle leaves behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import HTTPConnection

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "cy")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"
LANGUAGE_PARAM = "lang"
DOMAIN = "messages"
KERNEL_LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def _supported(value: str | None) -> str | None:
    """`cy`, `CY`, `cy-GB` and `cy_GB` all mean Welsh; anything unsupported means no choice."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED_LANGUAGES else None


def language_from_ui_locales(ui_locales: str | None) -> str | None:
    """The first supported language in an OIDC `ui_locales` value (space-separated BCP 47 tags), if any."""
    for tag in (ui_locales or "").split():
        lang = _supported(tag)
        if lang:
            return lang
    return None


def requested_language(connection: HTTPConnection) -> str | None:
    """The language the `lang` query parameter asks for, if it names a supported one."""
    return _supported(connection.query_params.get(LANGUAGE_PARAM))


def choose_language(connection: HTTPConnection, override: str | None = None) -> str:
    """The page language: override, then `?lang=`, then the `lang` cookie, then English."""
    return (
        _supported(override)
        or requested_language(connection)
        or _supported(connection.cookies.get(LANGUAGE_COOKIE))
        or DEFAULT_LANGUAGE
    )


def read_catalogue(directory: Path, lang: str) -> Translations | None:
    """One `.po` file compiled in memory, or None when the directory has no catalogue for `lang`."""
    path = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return None
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Catalogues:
    """The merged translations for every supported language, built once from the kernel's and components'
    dirs.

    `directories` are the component's own, most specific first; the kernel's is always the base.
    """

    def __init__(self, directories: Sequence[Path] = ()) -> None:
        self.directories: tuple[Path, ...] = (KERNEL_LOCALE_DIR, *reversed([Path(d) for d in directories]))
        self._translations: dict[str, Translations] = {}
        for lang in SUPPORTED_LANGUAGES:
            base = read_catalogue(KERNEL_LOCALE_DIR, lang)
            if base is None:
                raise RuntimeError(f"the kernel's {lang} catalogue is missing from {KERNEL_LOCALE_DIR}")
            for directory in self.directories[1:]:
                catalogue = read_catalogue(directory, lang)
                if catalogue is not None:
                    base.merge(catalogue)
            self._translations[lang] = base

    def translations(self, lang: str) -> Translations:
        return self._translations[_supported(lang) or DEFAULT_LANGUAGE]

    def gettext(self, lang: str, message: str) -> str:
        return self.translations(lang).gettext(message)


def template_messages(template_dirs: Iterable[Path]) -> set[str]:
    """Every message id marked for translation in the `.html` templates under `template_dirs`.

    Plural messages contribute their singular id. Used by tests to prove a catalogue is complete.
    """
    found: set[str] = set()
    for directory in template_dirs:
        for _file, _line, message, _comments, _context in extract_from_dir(
            directory,
            method_map=[("**.html", "jinja2.ext:babel_extract")],
            options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    found.discard("")
    return found


def missing_translations(template_dirs: Iterable[Path], catalogue_dirs: Sequence[Path], lang: str) -> list[str]:
    """Message ids used by the templates that `lang`'s merged catalogue does not translate (sorted).

    A component's test calls this with its own template and locale dirs to keep its Welsh complete.
    """
    translations = Catalogues(catalogue_dirs).translations(lang)
    catalog = translations._catalog
    missing = []
    for message in template_messages(template_dirs):
        entry = catalog.get(message) or catalog.get((message, 0))
        if not entry:
            missing.append(message)
    return sorted(missing)
