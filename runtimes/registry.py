"""Runtimes by name, with an ordered fallback like ONNX Runtime's providers.

    create_runtime("torch", model)                    # exactly this one, or a clear error
    create_runtime(["onnxruntime", "torch"], model)   # the first that is usable here
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sfc_sdk.errors import RuntimeUnavailableError

from .base import Runtime


@dataclass(frozen=True)
class RuntimeEntry:
    name: str
    module: str  # Python package the runtime needs ("a|b": either will do)
    extra: str  # pip extra that installs it
    factory: Callable[..., Runtime]
    description: str
    install: str = ""  # how to install it, when a pip extra cannot

    @property
    def install_hint(self) -> str:
        return self.install or f'pip install "sfc-sdk[{self.extra}]"'

    def installed(self) -> bool:
        return any(importlib.util.find_spec(m) is not None for m in self.module.split("|"))


_REGISTRY: dict[str, RuntimeEntry] = {}


def register_runtime(name: str, *, module: str, extra: str, description: str, install: str = ""):
    def wrap(factory: Callable[..., Runtime]) -> Callable[..., Runtime]:
        _REGISTRY[name] = RuntimeEntry(name, module, extra, factory, description, install)
        return factory

    return wrap


def list_runtimes() -> list[RuntimeEntry]:
    return list(_REGISTRY.values())


def create_runtime(names: str | Sequence[str], source: Any, **options: Any) -> Runtime:
    """Build the first usable runtime of `names`; the error lists why each failed."""
    order = [names] if isinstance(names, str) else list(names)
    reasons = []
    for name in order:
        entry = _REGISTRY.get(name)
        if entry is None:
            reasons.append(f"{name}: unknown runtime (known: {', '.join(_REGISTRY)})")
        elif not entry.installed():
            reasons.append(f'{name}: needs {entry.module.replace("|", " or ")}; {entry.install_hint}')
        else:
            try:
                return entry.factory(source, **options)
            except RuntimeUnavailableError as e:
                reasons.append(f"{name}: {e}")
    raise RuntimeUnavailableError("no usable runtime: " + "; ".join(reasons))
