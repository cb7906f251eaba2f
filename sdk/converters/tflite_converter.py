"""TFLite (LiteRT) via litert-torch, straight from the torch module.

The SFC module is already written the way LiteRT needs it (topk indices, integer
marks, one-hot matmul; see `sfc_sdk.model.sfc`). The backbone is rewritten first, with
exact equivalents of the layers LiteRT cannot run or runs slowly:

* factorised Conv3d layers ((2+1)D networks; grouped 1x1x1 convs; X3D's depthwise
  temporal conv) as CONV_2D / DEPTHWISE_CONV_2D, which LiteRT runs with XNNPACK: 2.2x
  faster for the first bundled model, r2plus1d_tiny (65.6 -> 30.3 ms here), identical
  logits (`conv2d_rewrite`);
* every other Conv3d as a sum of 2D convs over its temporal taps: depthwise and grouped
  ones, which litert-torch cannot export at all, and dense k x k x k ones, which LiteRT
  runs on a reference kernel (the 3D ShuffleNet's stem: 30.8 -> 18.3 ms); and
  MaxPool3d / AvgPool3d (a reference STABLEHLO_REDUCE_WINDOW kernel otherwise) as 2D pools
  over space then time (`conv3d_rewrites`). This is what makes the Efficient-3DCNNs
  family (3D ShuffleNet, ShuffleNetV2, MobileNet, MobileNetV2) and X3D exportable.

What is left that LiteRT cannot run (a grouped Conv3d of another kind, an adaptive 3D
pool) is refused up front (`check_tflite_compatible`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

from torch import nn

from ..errors import ConfigError, ExportError
from ..logs import native_stderr_quiet, third_party_verbose
from .base import Converter, ExportRequest, ExportResult
from .conv2d_rewrite import conv3d_as_conv2d
from .conv3d_rewrites import convs_and_pools_as_2d
from .exportable import ExportableSFC


def check_tflite_compatible(model: nn.Module) -> None:
    """LiteRT has no grouped CONV_3D (litert-torch cannot export one) and no 3D pooling in
    XNNPACK: refuse what the rewrites left of them early, with the reason, instead of
    failing deep inside the converter. Run it on the rewritten network."""
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv3d) and m.groups != 1:
            raise ConfigError(f"TFLite cannot run this grouped Conv3d ({name}, groups={m.groups}, dilation "
                              f"{m.dilation}, padding {m.padding!r} {m.padding_mode}): grouped ones are rewritten as "
                              "2D convs only without dilation and with zero padding; export this backbone to ONNX "
                              "or OpenVINO instead")
        if isinstance(m, (nn.MaxPool3d, nn.AvgPool3d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d)):
            raise ConfigError(f"LiteRT has no 3D pooling op, and {name} ({type(m).__name__}) is not rewritten as "
                              "2D pools (only MaxPool3d / AvgPool3d without ceil_mode, dilation or divisor_override "
                              "are); export this backbone to ONNX or OpenVINO instead")


def rewrite_for_tflite(model: nn.Module) -> tuple[nn.Module, tuple[str, ...]]:
    """A copy of `model` computing the same function with the layers LiteRT runs (see the
    module docstring), and one note per kind of rewrite applied (for the manifest)."""
    model, as_2d = conv3d_as_conv2d(model)
    model, taps, pools = convs_and_pools_as_2d(model)
    check_tflite_compatible(model)
    notes = ((as_2d, "factorised Conv3d layers exported as CONV_2D (XNNPACK)"),
             (taps, "other Conv3d layers (depthwise, grouped, dense) exported as sums of 2D convs over their temporal "
                   "taps"),
             (pools, "3D pooling layers exported as 2D pools over space, then over time"))
    return model, tuple(f"{count} {what}" for count, what in notes if count)


class TFLiteConverter(Converter):
    export_in_processes = True  # ~37 s per graph here, whatever its length: the bundle's four run in parallel

    def export(self, module: ExportableSFC, request: ExportRequest, out_dir: Path) -> ExportResult:
        model, notes = rewrite_for_tflite(module.model)
        module = module.with_model(model)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # TensorFlow's C++ prints its oneDNN line at import, before absl logging is set up and
        # past TF_CPP_MIN_LOG_LEVEL; torch warns about an enum: neither is the user's business (-v shows them).
        with native_stderr_quiet():
            litert_torch = self.require("litert_torch")
        kwargs = {}
        if request.precision == "fp16":
            from litert_torch.generative.quantize import quant_recipes

            kwargs["quant_config"] = quant_recipes.full_fp16_recipe()
            notes += ("fp16: weights of the ops LiteRT's quantizer supports (CONV_2D, FULLY_CONNECTED) are "
                      "stored in fp16; any CONV_3D weights and all activations stay fp32",)
        path = out_dir / "model.tflite"
        logging.getLogger("absl").setLevel(logging.ERROR)
        # litert-torch prints a step-by-step log on stdout; the CLI shows its own progress.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            if not third_party_verbose():  # torch's pytree deprecations, once per graph
                warnings.simplefilter("ignore")
            try:
                litert_torch.convert(module.eval(), (request.shape.example(),), **kwargs).export(str(path))
            except Exception as e:  # the converter raises many types; all mean the same to a user
                raise ExportError(f"TFLite export failed: {type(e).__name__}: {str(e).splitlines()[0]}") from e
        return ExportResult(path.name, (path.name,), notes)


CONVERTER = TFLiteConverter
