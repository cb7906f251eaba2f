"""Runtimes by name, with an ordered fallback like ONNX Runtime's providers.

    create_runtime("torch", "my_model/")                 # exactly this one, or a clear error
    create_runtime(["onnxruntime", "openvino"], bundle)  # the first that is usable here
    create_runtime(runtime_order(bundle), bundle)        # the bundle's own runtime, then its fallbacks

Which runtimes exist, what they need and how to install them is the RUNTIMES table in
`sfc_sdk.formats`. An adapter module is imported only when its runtime is asked for,
so a missing optional backend (torch included) costs nothing until then.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..bundle import Bundle
from ..errors import ConfigError, RuntimeUnavailableError
from ..formats import RuntimeSpec, export_formats, get_format, get_runtime
from .base import ExportedRuntime, Runtime


def runtime_class(spec: RuntimeSpec) -> type[Runtime]:
    """The adapter class of an installed runtime (imports its module, and so its backend)."""
    return importlib.import_module(f"{__package__}.{spec.adapter}").RUNTIME


def format_mismatch(spec: RuntimeSpec, bundle: Bundle) -> str:
    """Why `spec` cannot read `bundle`'s model files ("" where it can): said before its
    backend is handed a file it would fail on deep inside (LiteRT on an ONNX file)."""
    fmt = get_format(bundle.manifest.format)
    if spec.name in fmt.runtimes:
        return ""
    reads = [f.name for f in export_formats() if spec.name in f.runtimes]
    runs = f"this {fmt.name} bundle runs in {' or '.join(fmt.runtimes)} (--runtime {fmt.runtimes[0]}"
    if not reads:
        return f"{spec.name} runs model directories, not exported bundles; {runs})"
    return f"{spec.name} runs {' and '.join(reads)} bundles only; {runs}, or convert with --target {reads[0]})"


def runtime_order(source: Any, runtime: str | None = None) -> list[str]:
    """The runtimes to try on `source`, preferred first: `runtime` alone when one is named;
    for a Bundle, the runtime its manifest names, then the others that run its format (a
    TensorRT bundle falls back to ONNX Runtime); for a model directory or an SFCModel,
    torch. The Recognizer and the export's parity check both ask here, so a bundle is
    checked on the runtime it will later run on."""
    if runtime:
        return [runtime]
    if isinstance(source, Bundle):
        m = source.manifest
        return list(dict.fromkeys([m.runtime, *get_format(m.format).runtimes]))
    return ["torch"]


@dataclass(frozen=True)
class RuntimeFactory:
    """One adapter with the options it was asked for. An exported runtime is handed the
    factory that made it, so it can make the runtimes of its bundle's shorter inputs on the
    same backend with the same options (`ExportedRuntime.make_runtime`)."""

    adapter: type[Runtime]
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, source: Any) -> Runtime:
        if issubclass(self.adapter, ExportedRuntime):
            return self.adapter(source, **self.options, make_runtime=self)
        return self.adapter(source, **self.options)


def create_runtime(names: str | Sequence[str], source: Any, **options: Any) -> Runtime:
    """Build the first usable runtime of `names` on `source` (a Bundle, or for torch a
    model directory or an SFCModel); the error lists why each one failed. `runtime_order`
    gives the usual `names` for a source."""
    order = [names] if isinstance(names, str) else list(names)
    reasons = []
    for name in order:
        try:
            spec = get_runtime(name)
        except ConfigError as e:
            reasons.append(str(e))
            continue
        if isinstance(source, Bundle) and (mismatch := format_mismatch(spec, source)):
            reasons.append(mismatch)
            continue
        if not spec.installed():
            reasons.append(f'{name}: needs {spec.needs.replace("|", " or ")}; {spec.install_hint}')
            continue
        try:
            factory = RuntimeFactory(runtime_class(spec), options)
        except (ImportError, OSError) as e:  # installed, but broken (a missing shared library, ...)
            reasons.append(f"{name}: installed but does not import ({type(e).__name__}: {e})")
            continue
        try:
            return factory(source)
        except RuntimeUnavailableError as e:
            reasons.append(f"{name}: {e}")
    raise RuntimeUnavailableError("no usable runtime: " + "; ".join(reasons))
