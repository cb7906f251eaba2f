"""Make the SFC module file that ships with the SDK from a model directory.

    python scripts/ship_sfc_module.py MODEL_DIR NAME [--why TEXT]

MODEL_DIR: the output of `sfc-sdk train sfc`, or a model directory whose module needs no
training (`selector: novelty`). Writes sfc_sdk/assets/sfc_modules/NAME.safetensors (the
module's tensors; its split point, settings, the backbone's hash and how the module was made
in the header) and prints the `ShippedModule(...)` line for the catalogue entry. The
backbone is not copied: `sfc-sdk pull` reads it from its source and checks its hash.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sfc_sdk.catalogue import SFC_MODULES_DIR
from sfc_sdk.model import load_model, state_hash
from sfc_sdk.model.shipped import write_module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("name")
    parser.add_argument("--why", default="", help="why this module ships (where it was chosen, on what)")
    args = parser.parse_args()
    model, config = load_model(args.model)
    record = json.loads((args.model / "config.json").read_text()).get("training", {})
    summary = {"backbone_sha256": state_hash(model.backbone), "why": args.why}
    if record.get("stage") == "sfc":
        summary["trained"] = {key: record.get(key) for key in (
            "labels", "train_videos", "val_videos", "val", "settings", "options", "initial")}
        summary["trained"]["final"] = record["history"][-1] if record.get("history") else None
    elif config.sfc.selector == "learned":
        raise SystemExit(f"{args.model}: an untrained learned module is uniform sampling; ship a trained one")
    else:
        summary["trained"] = None  # a training-free selector
    out = SFC_MODULES_DIR / f"{args.name}.safetensors"
    sha = write_module(model, config.split, config.sfc, summary, out)
    print(f"{out} ({out.stat().st_size / 1024:.0f} KB)")
    print(f'sfc_module=ShippedModule("{out.name}", "{sha}"),')


if __name__ == "__main__":
    main()
