"""Where compiled engines live: one per bundle, GPU and TensorRT version, in a user cache.

A TensorRT engine takes minutes to build on a Jetson and is valid only for the GPU model
and TensorRT version that built it. It is kept under the user cache
(`~/.cache/sfc-sdk/engines`, or `$SFC_SDK_ENGINE_CACHE`), keyed by the bundle's model-file
hash, never beside the bundle: an archive bundle is unpacked into a new temporary folder
in every process, and a bundle folder may be read-only. ONNX Runtime's TensorRT provider
gets the same folder for its own engine and timing caches.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..bundle import Bundle
from ..defaults import engine_cache_dir


def bundle_engine_dir(bundle: Bundle) -> Path:
    """This bundle's folder in the cache: named by its model file's sha256 (from the
    checked manifest), so the same bundle anywhere, unpacked or not, finds its engines."""
    digest = bundle.manifest.files[bundle.manifest.model_file]
    return engine_cache_dir() / digest[:16]


def engine_path(bundle: Bundle, trt_version: str, gpu: str) -> Path:
    """The engine file for this bundle on this GPU model with this TensorRT version."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", gpu).strip("-").lower()
    return bundle_engine_dir(bundle) / f"{slug}.trt{trt_version}.{bundle.manifest.precision}.engine"


def ort_tensorrt_options(bundle: Bundle) -> dict[str, Any]:
    """Options for ONNX Runtime's TensorrtExecutionProvider: its engine and timing caches
    in this bundle's cache folder (ONNX Runtime names the files by GPU and version itself)."""
    folder = str(bundle_engine_dir(bundle) / "onnxruntime")
    return {"trt_engine_cache_enable": True, "trt_engine_cache_path": folder, "trt_timing_cache_enable": True,
            "trt_timing_cache_path": folder, "trt_fp16_enable": bundle.manifest.precision == "fp16"}
