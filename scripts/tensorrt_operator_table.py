"""Regenerate `converters/tensorrt_operators.json` from onnx-tensorrt's own support lists.

    git clone https://github.com/onnx/onnx-tensorrt && python scripts/tensorrt_operator_table.py onnx-tensorrt

For each TensorRT release a JetPack ships (and the desktop one), read that release
branch's `docs/operators.md` (Operator | Supported | Supported Types | Restrictions) and
keep the supported operators with their types and restriction text, plus the opset range
stated at the top. The JSON is data (operator names and types), checked in, so export
needs neither the repository nor the network.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

# TensorRT version -> (onnx-tensorrt branch, the JetPack releases that ship it)
RELEASES = {
    "8.2": ("8.2-GA", "JetPack 4.6.x (L4T R32.6/R32.7): the last JetPack for Jetson Nano/TX1/TX2"),
    "8.5": ("8.5-GA", "JetPack 5.1.x (L4T R35)"),
    "8.6": ("8.6-GA", "JetPack 6.0 (L4T R36.3)"),
    "10": ("10.1-GA", "JetPack 6.1/6.2 ship TensorRT 10.3 (L4T R36.4); the newest list stored here is 10.1's"),
}
ROW = re.compile(r"^\|\s*([A-Za-z0-9_]+)\s*\|\s*(Y|N)\s*\|([^|]*)\|?(.*)$")


def parse(text: str) -> dict:
    head = re.search(r"TensorRT [\d.]+ supports operators (?:up to Opset (\d+)|in the inclusive range of opset (\d+) "
                     r"to opset (\d+))", text)
    if head is None:
        raise SystemExit("no opset statement found")
    lo, hi = (head.group(2), head.group(3)) if head.group(1) is None else ("7", head.group(1))
    ops = {}
    for line in text.splitlines():
        m = ROW.match(line.strip())
        if m and m.group(2) == "Y" and m.group(1) != "Operator":
            types = sorted({t.strip() for t in m.group(3).split(",") if t.strip()})
            ops[m.group(1)] = {"types": types, "restrictions": m.group(4).strip(" |")}
    return {"opset_min": int(lo), "opset_max": int(hi), "operators": ops}


def dump(table: dict) -> str:
    """JSON with one line per operator, so a diff between regenerations reads as a list of changes."""
    lines = ["{"]
    for i, (version, t) in enumerate(table.items()):
        lines.append(f"  {json.dumps(version)}: {{")
        lines += [f"    {json.dumps(k)}: {json.dumps(t[k])}," for k in ("source", "jetpack", "opset_min", "opset_max")]
        lines.append('    "operators": {')
        ops = list(t["operators"].items())
        lines += [f"      {json.dumps(op)}: {json.dumps(v)}" + ("," if j < len(ops) - 1 else "")
                  for j, (op, v) in enumerate(ops)]
        lines.append("    }")
        lines.append("  }" + ("," if i < len(table) - 1 else ""))
    return "\n".join(lines + ["}"]) + "\n"


def main(repo: Path) -> None:
    table = {}
    for version, (branch, jetpack) in RELEASES.items():
        text = subprocess.run(["git", "-C", str(repo), "show", f"{branch}:docs/operators.md"], check=True,
                              capture_output=True, text=True).stdout
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", branch], check=True, capture_output=True,
                                text=True).stdout.strip()
        table[version] = {"source": f"onnx/onnx-tensorrt {branch} ({commit[:12]}) docs/operators.md",
                          "jetpack": jetpack, **parse(text)}
    out = Path(__file__).resolve().parents[1] / "sdk" / "converters" / "tensorrt_operators.json"
    out.write_text(dump(table))
    print(f"wrote {out}: " + ", ".join(f"{v}: {len(t['operators'])} operators, opset {t['opset_min']}-"
                                       f"{t['opset_max']}" for v, t in table.items()))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
