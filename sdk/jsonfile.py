"""Reading the SDK's JSON files (model configs, bundle manifests, device profiles) with
one typed error for each way it can fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import SfcError


def read_json(path: Path, error: type[SfcError], missing: str) -> Any:
    """Parsed JSON of `path`; `error(missing)` if it does not exist, `error` naming the
    file if it is not valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise error(missing) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: not valid JSON ({e})") from None
