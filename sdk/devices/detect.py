"""Which device is this? Read the files that say so, under a root folder so tests can
point it at recorded samples:

    /proc/device-tree/model    Jetson and Raspberry Pi boards name themselves here
    /etc/nv_tegra_release      present on every Jetson (L4T), with its release (R32, R36)
    /proc/cpuinfo              vendor_id (GenuineIntel, AuthenticAMD) or CPU implementer (ARM)
    /proc/driver/nvidia/gpus/*/information   one folder per GPU the NVIDIA driver runs
                                             ("Model: ..."); on the real root, `nvidia-smi`
                                             where the driver exposes no such folder

Boards are matched first (device tree), then a CUDA GPU, then the CPU vendor, then
the fallback profile. Nothing here imports torch or a runtime: `sfc-sdk devices` stays fast.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .device_profile import DeviceProfile


@dataclass(frozen=True)
class HostFacts:
    device_tree_model: str = ""
    tegra_release: str = ""  # e.g. "R36"
    cpu_vendor: str = ""  # GenuineIntel, AuthenticAMD, ARM, ...
    cpu_model: str = ""
    cuda: str = ""  # GPU name, "" if none

    def describe(self) -> str:
        parts = [f"device-tree model {self.device_tree_model!r}" if self.device_tree_model else "",
                 f"L4T {self.tegra_release}" if self.tegra_release else "",
                 f"CPU {self.cpu_vendor} {self.cpu_model}".strip() if self.cpu_vendor else "",
                 f"CUDA GPU {self.cuda}" if self.cuda else ""]
        return ", ".join(p for p in parts if p) or "nothing recognisable"


def _read(path: Path) -> str:
    try:
        return path.read_bytes().replace(b"\x00", b"").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def nvidia_gpu(root: Path) -> str:
    """Name of the first GPU the NVIDIA driver runs under `root`, "" if none."""
    for info in sorted((root / "proc" / "driver" / "nvidia" / "gpus").glob("*/information")):
        for line in _read(info).splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "Model" and value:
                return value
    if root == Path("/") and shutil.which("nvidia-smi"):  # containers may hide /proc/driver/nvidia
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10)
            return out.stdout.strip().splitlines()[0].strip() if out.returncode == 0 and out.stdout.strip() else ""
        except (OSError, subprocess.SubprocessError):
            return ""
    return ""


def read_host(root: str | Path = "/", cuda: bool | None = None) -> HostFacts:
    """Facts about the machine under `root`. `cuda=None` reads the NVIDIA driver's files;
    True or False says it instead."""
    root = Path(root)
    tegra = _read(root / "etc" / "nv_tegra_release")
    release = tegra.split()[1] if tegra.startswith("#") and len(tegra.split()) > 1 else ""
    vendor = model = ""
    for line in _read(root / "proc" / "cpuinfo").splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "vendor_id" and not vendor:
            vendor = value
        elif key == "CPU implementer" and not vendor:
            vendor = "ARM"
        elif key in ("model name", "Model") and not model:
            model = value
    gpu = nvidia_gpu(root) if cuda is None else ("CUDA GPU" if cuda else "")
    return HostFacts(_read(root / "proc" / "device-tree" / "model"), release, vendor, model, gpu)


def _matches(profile: DeviceProfile, facts: HostFacts) -> bool:
    rules = profile.detect
    if "device_tree_model" in rules and not any(s in facts.device_tree_model for s in rules["device_tree_model"]):
        return False
    if "tegra_release" in rules and facts.tegra_release not in rules["tegra_release"]:
        return False
    if "cpu_vendor" in rules and facts.cpu_vendor not in rules["cpu_vendor"]:
        return False
    if rules.get("cuda") and (not facts.cuda or facts.tegra_release):
        return False
    return any(k in rules for k in ("device_tree_model", "cpu_vendor", "cuda"))


@dataclass(frozen=True)
class Detection:
    profile: DeviceProfile
    facts: HostFacts
    how: str


def detect_device(profiles: Iterable[DeviceProfile], facts: HostFacts) -> Detection | None:
    profiles = list(profiles)

    def first(group: str) -> DeviceProfile | None:
        return next((p for p in profiles if group in p.detect and _matches(p, facts)), None)

    board = first("device_tree_model")
    if board:
        return Detection(board, facts, f"detected {board.name} from {facts.describe()}")
    if facts.tegra_release:  # a Jetson we have no profile for: its family's default
        member = next((p for p in profiles if p.family == "jetson" and p.family_default), None)
        if member:
            return Detection(member, facts, f"an unlisted Jetson ({facts.describe()}): using {member.name}")
    for group in ("cuda", "cpu_vendor"):
        found = first(group)
        if found:
            return Detection(found, facts, f"detected {found.name} from {facts.describe()}")
    fallback = next((p for p in profiles if p.detect.get("fallback")), None)
    if fallback:
        return Detection(fallback, facts, f"no specific profile matches {facts.describe()}: using {fallback.name}")
    return None
