"""What each TensorRT release's ONNX parser takes, and fitting our ONNX to it, exactly.

A TensorRT engine is built on the device by the parser of the TensorRT that JetPack
installed there, and Jetsons stay on old releases: Jetson Nano's last JetPack, 4.6, has
TensorRT 8.2, whose parser reads opset 13 at most and no INT32 CumSum. The table
(`tensorrt_operators.json`, from onnx-tensorrt's `docs/operators.md` of each release;
regenerate with `scripts/tensorrt_operator_table.py`) lists per release the opset range
and the operators with their types and restrictions.

    fit_for_tensorrt   the exported ONNX -> the same function in operators those releases take
    check_for_tensorrt what still does not fit one release: [] when its parser takes the file
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import ConfigError

TABLE = Path(__file__).with_name("tensorrt_operators.json")

# Integer ops a release may lack that compute the same in FP32: the SFC selection's
# counters (a cumulative sum and row sums of 0/1 marks, at most T head steps) are small
# integers, exact in FP32 (and in FP16 up to 2048, should TensorRT run them so).
EXACT_IN_FLOAT = {"CumSum", "ReduceSum", "Add", "Sub", "Mul"}


@dataclass(frozen=True)
class TensorRTRelease:
    version: str  # "8.2", ..., "10" (the 10.x releases share one list here)
    jetpack: str  # the JetPack releases that ship it
    opset_min: int
    opset_max: int
    operators: dict[str, dict[str, Any]]  # op -> {"types": [...], "restrictions": text}
    source: str  # which onnx-tensorrt file the list was read from

    def types(self, op: str) -> set[str]:
        """Input types the parser takes for `op`. TensorRT 8 casts INT64 down to INT32
        (its lists' note), so INT64 passes where INT32 does."""
        types = set(self.operators[op]["types"])
        if self.version.startswith("8") and "INT32" in types:
            types.add("INT64")
        return types

    def constant_inputs(self, op: str) -> list[str]:
        """Inputs the restrictions say must be initializers (`K`, `axes`, `W`, ...)."""
        text = self.operators[op]["restrictions"]
        return re.findall(r"`(\w+)`(?: input)? must be (?:an? )?(?:initiali|initail|constant)", text)


@cache
def _table() -> dict[str, Any]:
    return json.loads(TABLE.read_text())


def tensorrt_releases(since: str | None = None) -> list[str]:
    """The releases the table knows, oldest first; `since`: that version's and every later
    one (a device's JetPack can be upgraded, and its bundles should still parse)."""
    known = sorted(_table(), key=lambda v: tuple(int(p) for p in v.split(".")))
    return known if since is None else known[known.index(tensorrt_release(since).version):]


def tensorrt_release(version: str) -> TensorRTRelease:
    """The table entry for a TensorRT version as people write it: "8.2", "8.2.1", "10.3.0"."""
    parts = version.strip().split(".")
    for key in (".".join(parts[:2]), parts[0]):
        if key in _table():
            t = _table()[key]
            return TensorRTRelease(key, t["jetpack"], t["opset_min"], t["opset_max"], t["operators"], t["source"])
    raise ConfigError(f"no ONNX operator list for TensorRT {version!r}; known: {', '.join(tensorrt_releases())}")


def common_opset(releases: list[TensorRTRelease]) -> int:
    """The newest opset (at most the SDK's own, 18) that every one of `releases` parses."""
    opset = min([18, *(r.opset_max for r in releases)])
    if opset < max(r.opset_min for r in releases):
        raise ConfigError("these TensorRT releases share no ONNX opset: " + ", ".join(r.version for r in releases))
    return opset


def _onnx() -> Any:
    import onnx

    return onnx


def _type_name(elem_type: int) -> str:
    onnx = _onnx()
    names = {onnx.TensorProto.FLOAT: "FP32", onnx.TensorProto.FLOAT16: "FP16", onnx.TensorProto.BFLOAT16: "BF16",
             onnx.TensorProto.DOUBLE: "DOUBLE", onnx.TensorProto.INT8: "INT8", onnx.TensorProto.UINT8: "UINT8",
             onnx.TensorProto.INT32: "INT32", onnx.TensorProto.INT64: "INT64", onnx.TensorProto.BOOL: "BOOL"}
    return names.get(elem_type, onnx.TensorProto.DataType.Name(elem_type))


def _graph_facts(model: Any) -> tuple[dict[str, int], set[str], int]:
    """Element type of every named tensor, the names that are constants, and the opset."""
    onnx = _onnx()
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type for v in (*g.input, *g.output, *g.value_info)}
    types.update({i.name: i.data_type for i in g.initializer})
    constants = {i.name for i in g.initializer} | {o for n in g.node if n.op_type == "Constant" for o in n.output}
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return types, constants, opset


def check_for_tensorrt(model: Any, release: TensorRTRelease) -> list[str]:
    """Why `release`'s ONNX parser would refuse `model` (onnx.ModelProto), one line per
    problem; [] when the opset, every operator, its input types and its constant-input
    restrictions are in the release's list."""
    onnx = _onnx()
    types, constants, opset = _graph_facts(model)
    problems = []
    if not release.opset_min <= opset <= release.opset_max:
        problems.append(f"opset {opset} (TensorRT {release.version} parses {release.opset_min}-{release.opset_max})")
    for node in model.graph.node:
        if node.op_type not in release.operators:
            problems.append(f"{node.op_type} ({node.name or node.output[0]}) is not supported")
            continue
        allowed = release.types(node.op_type)
        for name in node.input:
            if name and name not in constants and name in types and _type_name(types[name]) not in allowed:
                problems.append(f"{node.op_type} on {_type_name(types[name])} ({name}); supported: "
                                f"{', '.join(sorted(allowed))}")
        schema = onnx.defs.get_schema(node.op_type, opset)
        formal = [p.name for p in schema.inputs]
        for wanted in release.constant_inputs(node.op_type):
            i = formal.index(wanted) if wanted in formal else -1
            if 0 <= i < len(node.input) and node.input[i] and node.input[i] not in constants:
                problems.append(f"{node.op_type} input {wanted} ({node.input[i]}) must be a constant")
    return problems


def fit_for_tensorrt(model: Any, releases: list[TensorRTRelease]) -> tuple[Any, list[str]]:
    """Rewrite `model` so each of `releases` takes it, computing the same: constant
    subgraphs folded (onnxscript's optimizer), and integer ops a release lacks run in FP32
    between casts (only `EXACT_IN_FLOAT` ops). Returns the model and what was rewritten."""
    onnx = _onnx()
    from onnxscript import optimizer

    model = optimizer.optimize(model)
    types, constants, _ = _graph_facts(model)
    rewrites: dict[str, int] = {}
    nodes = []
    for node in model.graph.node:
        ints = [n for n in node.input if n and _type_name(types.get(n, 0)) in ("INT32", "INT64")]
        lacking = [r for r in releases if node.op_type in r.operators
                   and any(_type_name(types[n]) not in r.types(node.op_type) for n in ints if n not in constants)]
        if node.op_type not in EXACT_IN_FLOAT or not lacking or not all("FP32" in r.types(node.op_type)
                                                                         for r in lacking):
            nodes.append(node)
            continue
        out_type = types[node.output[0]]
        # The data inputs go to FP32; CumSum's axis and ReduceSum's axes stay INT64 constants.
        cast_inputs = [n for n in ints if node.op_type not in ("CumSum", "ReduceSum") or n == node.input[0]]
        renamed = {n: f"{n}__fp32_{node.name or node.output[0]}" for n in cast_inputs}
        nodes += [onnx.helper.make_node("Cast", [n], [renamed[n]], to=onnx.TensorProto.FLOAT) for n in cast_inputs]
        inner = onnx.helper.make_node(node.op_type, [renamed.get(n, n) for n in node.input],
                                      [f"{node.output[0]}__fp32"], name=node.name, domain=node.domain)
        inner.attribute.extend(node.attribute)
        nodes += [inner, onnx.helper.make_node("Cast", [inner.output[0]], [node.output[0]], to=out_type)]
        key = f"{node.op_type} on {_type_name(types[ints[0]])} -> FP32 between casts (exact for small integers)"
        rewrites[key] = rewrites.get(key, 0) + 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model, [f"{what}: {count}" for what, count in rewrites.items()]
