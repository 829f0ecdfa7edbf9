"""Search query strings and the paging envelope (pay spec §5.4), shared by payment and refund search.

Every parameter is checked, and all failures are reported together by name (`Invalid parameters: a, b. ...`), as
GOV.UK Pay does. Blank parameters count as absent. Unknown parameters are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from services.pay.errors import PayError, pay_error
from services.pay.formats import parse_filter_date, parse_filter_datetime

MAX_DISPLAY_SIZE = 500


def invalid_parameters(code: str, names: list[str]) -> PayError:
    return pay_error(
        422,
        code,
        f"Invalid parameters: {', '.join(names)}. See Public API documentation for the correct data formats",
    )


def page_not_found(code: str) -> PayError:
    return pay_error(404, code, "Page not found")


class Query:
    """The caller's query string, read once: first value per name, blank values dropped."""

    def __init__(self, raw: bytes | str) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        self.pairs = [(k, v) for k, v in parse_qsl(text, keep_blank_values=True) if v.strip()]
        self.values: dict[str, str] = {}
        for key, value in self.pairs:
            self.values.setdefault(key, value)
        self.bad: list[str] = []

    def get(self, name: str, check: Callable[[str], Any]) -> Any:
        """The parsed value of `name` (None if absent); `check` returns the parsed value, or None if invalid."""
        raw = self.values.get(name)
        if raw is None:
            return None
        parsed = check(raw)
        if parsed is None:
            self.bad.append(name)
        return parsed

    def raise_if_bad(self, code: str) -> None:
        if self.bad:
            raise invalid_parameters(code, self.bad)


def text(limit: int) -> Callable[[str], str | None]:
    return lambda value: value if len(value) <= limit else None


def one_of(allowed: tuple[str, ...]) -> Callable[[str], str | None]:
    return lambda value: value if value in allowed else None


def digits(count: int) -> Callable[[str], str | None]:
    return lambda value: value if len(value) == count and value.isascii() and value.isdigit() else None


def whole_number(low: int, high: int | None = None) -> Callable[[str], int | None]:
    def check(value: str) -> int | None:
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            return None
        number = int(value)
        return number if number >= low and (high is None or number <= high) else None

    return check


def filter_datetime(value: str) -> datetime | None:
    return parse_filter_datetime(value)


def filter_date(value: str) -> date | None:
    return parse_filter_date(value)


@dataclass(frozen=True)
class Paging:
    page: int
    size: int

    @classmethod
    def read(cls, query: Query) -> Paging:
        page = query.get("page", whole_number(1))
        size = query.get("display_size", whole_number(1, MAX_DISPLAY_SIZE))
        return cls(page or 1, size or MAX_DISPLAY_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def envelope(
    query: Query, paging: Paging, total: int, results: list[dict[str, Any]], base: str, not_found_code: str
) -> dict[str, Any]:
    """`{total, count, page, results, _links}`; a page past the last (page > 1) is 404."""
    if not results and paging.page > 1:
        raise page_not_found(not_found_code)
    last = max(1, math.ceil(total / paging.size))
    kept = [(k, v) for k, v in query.pairs if k != "page"]

    def page_link(number: int) -> dict[str, str]:
        return {"href": f"{base}?{urlencode([*kept, ('page', str(number))])}", "method": "GET"}

    links = {"self": page_link(paging.page), "first_page": page_link(1), "last_page": page_link(last)}
    if paging.page > 1:
        links["prev_page"] = page_link(paging.page - 1)
    if paging.page < last:
        links["next_page"] = page_link(paging.page + 1)
    return {"total": total, "count": len(results), "page": paging.page, "results": results, "_links": links}
