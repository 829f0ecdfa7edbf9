"""Pay settings (prefix `PAY_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from gaap.settings import ComponentSettings


class PaySettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="PAY_", extra="ignore")
    component: ClassVar[str] = "pay"
    origin_fields: ClassVar[tuple[str, ...]] = ("api_base_url", "frontend_base_url")

    #: Origin of the API's `_links`; defaults to the platform's public base URL.
    api_base_url: str = ""
    #: Origin of the hosted payment pages (`next_url`); defaults to the platform's public base URL.
    frontend_base_url: str = ""
