"""The platform's composition: which components exist and where their parts live.

This is the one place the kernel names the components, as dotted paths resolved on demand, so importing the kernel
never imports a component.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaap.settings import ComponentSettings


@dataclass(frozen=True)
class ComponentInfo:
    name: str
    package: str
    settings: str
    app: str
    family: str
    #: `module:function` returning the worker role's `WorkerSpec`, for components that have background work.
    worker: str | None = None


COMPONENTS: dict[str, ComponentInfo] = {
    "gateway": ComponentInfo(
        "gateway",
        "gateway",
        "gateway.settings:GatewaySettings",
        "gateway.app:create_app",
        "platform",
        worker="gateway.worker:worker_spec",
    ),
    "notify": ComponentInfo(
        "notify",
        "services.notify",
        "services.notify.settings:NotifySettings",
        "services.notify.app:create_app",
        "notify",
        worker="services.notify.worker:worker_spec",
    ),
    "pay": ComponentInfo(
        "pay",
        "services.pay",
        "services.pay.settings:PaySettings",
        "services.pay.app:create_app",
        "pay",
        worker="services.pay.worker:worker_spec",
    ),
    "identity": ComponentInfo(
        "identity",
        "services.identity",
        "services.identity.settings:IdentitySettings",
        "services.identity.app:create_app",
        "oauth",
        worker="services.identity.worker:worker_spec",
    ),
}
SERVICES = ("notify", "pay", "identity")


def with_workers() -> list[str]:
    return [name for name, info in COMPONENTS.items() if info.worker]


def resolve(dotted: str) -> Any:
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def component(name: str) -> ComponentInfo:
    try:
        return COMPONENTS[name]
    except KeyError:
        raise ValueError(f"unknown component {name!r}: one of {', '.join(COMPONENTS)}") from None


def load_settings(name: str) -> ComponentSettings:
    settings: ComponentSettings = resolve(component(name).settings)()
    return settings


def migrations_dir(name: str) -> Path:
    package = importlib.import_module(component(name).package)
    assert package.__file__ is not None
    return Path(package.__file__).parent / "migrations"
