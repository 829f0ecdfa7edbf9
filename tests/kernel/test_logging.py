"""structlog JSON logs (ARCHITECTURE rule 9): one JSON object per line, each with the component and the request id,
from structlog and standard-library loggers alike."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import structlog
from fastapi import APIRouter
from pydantic_settings import SettingsConfigDict

from gaap import logging as gaap_logging
from gaap.app import Component, build_app
from gaap.context import request_id_var
from gaap.settings import ComponentSettings

NOISY = ("uvicorn.access", "aiosqlite", "asyncio")


@contextmanager
def configured(component: str, **options: Any) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """`gaap.logging.configure` for the length of a block, its output captured; everything it changed is put back
    afterwards, so the rest of the suite keeps its own logging."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_noisy = {name: logging.getLogger(name).level for name in NOISY}
    saved_config = structlog.get_config()
    stream = io.StringIO()
    try:
        gaap_logging.configure(component, **options)
        # Loggers first used here must not keep this configuration after the block.
        structlog.configure(cache_logger_on_first_use=False)
        (handler,) = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)

        def lines() -> list[dict[str, Any]]:
            raw = stream.getvalue().splitlines()
            assert all(line.startswith("{") and line.endswith("}") for line in raw), raw
            return [json.loads(line) for line in raw]

        yield lines
    finally:
        structlog.contextvars.unbind_contextvars("component")
        structlog.configure(**saved_config)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_noisy.items():
            logging.getLogger(name).setLevel(level)


def test_each_line_is_one_json_object_with_request_id_and_component() -> None:
    with configured("kernel-logging") as lines:
        token = request_id_var.set("req-0123456789")
        try:
            structlog.get_logger("kernel.test").info("payment captured", payment_id="pay-1", amount=1200)
            logging.getLogger("kernel.stdlib").warning("a %s line", "standard-library")
        finally:
            request_id_var.reset(token)
        structlog.get_logger("kernel.test").info("outside any request")

        records = lines()

    assert len(records) == 3
    first, second, third = records
    assert first["event"] == "payment captured"
    assert first["payment_id"] == "pay-1" and first["amount"] == 1200
    assert first["level"] == "info"
    assert first["logger"] == "kernel.test"
    assert first["timestamp"].endswith("Z")
    assert second["event"] == "a standard-library line"
    assert second["level"] == "warning"
    assert second["logger"] == "kernel.stdlib"
    for record in (first, second):
        assert record["request_id"] == "req-0123456789"
        assert record["component"] == "kernel-logging"
    assert "request_id" not in third
    assert third["component"] == "kernel-logging"


def test_an_exception_stays_on_one_line() -> None:
    with configured("kernel-logging") as lines:
        try:
            raise ValueError("first line\nsecond line")
        except ValueError:
            structlog.get_logger("kernel.test").exception("it broke")
            logging.getLogger("kernel.stdlib").exception("it broke too")

        records = lines()

    assert [r["event"] for r in records] == ["it broke", "it broke too"]
    for record in records:
        assert record["level"] == "error"
        assert "ValueError: first line\nsecond line" in record["exception"]


def test_level_filters_and_explicit_request_id_wins() -> None:
    with configured("kernel-logging", level="warning") as lines:
        token = request_id_var.set("req-from-context")
        try:
            log = structlog.get_logger("kernel.test")
            log.info("dropped")
            log.warning("kept", request_id="req-explicit")
        finally:
            request_id_var.reset(token)

        records = lines()

    assert [(r["event"], r["request_id"]) for r in records] == [("kept", "req-explicit")]


class KernelLogSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="KLOG_", extra="ignore")
    component: ClassVar[str] = "klog"


router = APIRouter()


@router.get("/work")
async def work() -> dict[str, bool]:
    structlog.get_logger("kernel.endpoint").info("working")
    return {"ok": True}


@router.get("/explode")
async def explode() -> None:
    raise RuntimeError("unexpected")


async def request_and_capture(tmp_path: Path, redis_url: str, path: str, rid: str) -> list[dict[str, Any]]:
    settings = KernelLogSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/klog.db", redis_url=redis_url)
    app = build_app(Component(name="klog", settings=settings, routers=[router]))
    with configured("klog") as lines:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://klog") as client:
                await client.get(path, headers={"x-request-id": rid})
        return lines()


def letters_only_id() -> str:
    """A request id the card-number mask cannot take for a card: a pay process in the same test run masks runs of
    12 or more digits in every log line, and a hex id has one about one time in fifteen."""
    return "edge-" + uuid.uuid4().hex.translate(str.maketrans("0123456789", "ghijklmnop"))


async def test_a_request_logs_with_its_request_id(tmp_path: Path, redis_url: str) -> None:
    rid = letters_only_id()

    records = await request_and_capture(tmp_path, redis_url, "/work", rid)

    working = [r for r in records if r["event"] == "working"]
    assert len(working) == 1
    assert working[0]["request_id"] == rid
    assert working[0]["component"] == "klog"


async def test_an_unhandled_error_is_logged_with_its_request_id(tmp_path: Path, redis_url: str) -> None:
    rid = letters_only_id()

    records = await request_and_capture(tmp_path, redis_url, "/explode", rid)

    errors = [r for r in records if r["event"] == "unhandled error"]
    assert len(errors) == 1
    assert errors[0]["level"] == "error"
    assert "RuntimeError: unexpected" in errors[0]["exception"]
    assert errors[0]["request_id"] == rid


def test_a_registered_processor_also_sees_traceback_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Masks run after exceptions are formatted: a secret in an exception's message must not reach the log."""

    def mask(_logger: object, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        return {k: v.replace("4444333322221111", "****") if isinstance(v, str) else v for k, v in event.items()}

    monkeypatch.setattr(gaap_logging, "_extra_processors", [mask])
    with configured("masked") as lines:
        try:
            raise ValueError("card 4444333322221111 refused")
        except ValueError:
            structlog.get_logger("masked").exception("failed")
        logging.getLogger("masked.stdlib").error("stdlib card 4444333322221111")
    records = lines()
    assert "4444333322221111" not in json.dumps(records)
    assert any("card **** refused" in r.get("exception", "") for r in records)
    assert any(r["event"] == "stdlib card ****" for r in records)
