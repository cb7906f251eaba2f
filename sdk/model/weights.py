"""State dicts, read safely and checked against a network.

Weights are read from safetensors, or from torch files with `weights_only=True`
(never a full unpickle); a checkpoint that does not fit names its first wrong keys.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ..errors import CheckpointError


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors file or a weights-only torch file (.pt/.pth/.bin): a bare
    state dict, or one inside a training checkpoint (`state_dict`, `model_state`, `model`),
    DataParallel's `module.` prefix removed."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{path}: not a valid safetensors file ({e})") from None
    with path.open("rb") as f:
        magic = f.read(4)
    # torch.save writes a zip archive; files from torch < 1.6 are a bare pickle (protocol 2+
    # starts with 0x80). Anything else (a text file, an image) would fail deep inside the
    # unpickler with an unrelated error (a text file: KeyError 101).
    if not (magic.startswith(b"PK\x03\x04") or magic[:1] == b"\x80"):
        what = "the file is empty" if not magic else "not a checkpoint (neither a torch.save file nor safetensors)"
        raise CheckpointError(f"{path}: {what}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" in str(e):
            raise CheckpointError(
                f"{path}: refused to load: it holds more than tensors, and unpickling "
                "arbitrary objects can run code; re-save it as safetensors or a plain state dict"
            ) from None
        raise CheckpointError(f"{path}: not a torch checkpoint ({e})") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{path}: not a torch checkpoint ({type(e).__name__}: {e})") from None
    # Training scripts often wrap the state dict; unwrap the usual containers.
    for wrapper in ("state_dict", "model_state", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a dict of tensors (a state dict)")
    # nn.DataParallel saves its wrapped model's keys under `module.`.
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k.removeprefix("module."): v for k, v in obj.items()}
    return obj


def check_fits(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Raise CheckpointError naming the first keys that are missing, unexpected or mis-shaped."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if items:
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            problems.append(f"{label}: {', '.join(items[:3])}{more}")
    if problems:
        raise CheckpointError(f"checkpoint does not fit {what}: " + "; ".join(problems))


def load_weights(module: nn.Module, path: str | Path) -> nn.Module:
    """Load a state dict file into `module`, strictly (no renaming, nothing left out)."""
    state = read_state_dict(path)
    check_fits(module, state, type(module).__name__)
    module.load_state_dict(state)
    return module


def state_hash(module: nn.Module) -> str:
    """sha256 of every parameter and buffer (names, dtypes, shapes, values): proof that
    training left a module unchanged."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()
