"""Make the SFC module file that ships with the SDK from a trained model directory.

    python scripts/ship_sfc_module.py TRAINED_DIR NAME

Writes sfc_sdk/assets/sfc_modules/NAME.safetensors (the module's tensors; its split point,
settings and a summary of its training in the header) and prints the `ShippedModule(...)`
line for the catalogue entry. The backbone is not copied: `sfc-sdk pull` reads it from its
source and checks that it is the backbone the module was trained on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sfc_sdk.catalogue import SFC_MODULES_DIR
from sfc_sdk.model import load_model
from sfc_sdk.model.shipped import write_module


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    trained, name = Path(sys.argv[1]), sys.argv[2]
    model, config = load_model(trained)
    record = json.loads((trained / "config.json").read_text())["training"]
    if record.get("stage") != "sfc":
        raise SystemExit(f"{trained} is not the output of `sfc-sdk train sfc`")
    summary = {key: record.get(key) for key in ("labels", "train_videos", "val_videos", "val", "settings", "options",
                                                 "backbone_sha256_before", "backbone_sha256_after", "initial")}
    summary["final"] = record["history"][-1] if record.get("history") else None
    summary["data"] = [Path(d).name for d in record["data"]] if isinstance(record["data"], list) else record["data"]
    out = SFC_MODULES_DIR / f"{name}.safetensors"
    sha = write_module(model, config.split, config.sfc, summary, out)
    print(f"{out} ({out.stat().st_size / 1024:.0f} KB)")
    print(f'sfc_module=ShippedModule("{out.name}", "{sha}"),')


if __name__ == "__main__":
    main()
