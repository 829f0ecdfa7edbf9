"""Notify settings (prefix `NOTIFY_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from gaap.settings import ComponentSettings


class NotifySettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")
    component: ClassVar[str] = "notify"

    #: Origin used to build every absolute URL in responses (`uri`, `links.*`); defaults to the platform's.
    public_base_url: str = ""

    @property
    def public_root(self) -> str:
        return self.public_url(self.public_base_url) + "/"
