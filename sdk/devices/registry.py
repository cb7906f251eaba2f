"""Shipped and user device profiles, looked up by name, family, or `auto`.

User profiles: JSON files in the folders of `SFC_SDK_DEVICES` (os.pathsep-separated),
in `~/.config/sfc-sdk/devices`, or passed explicitly (`--profiles DIR` in the CLI).
A user profile with a shipped profile's name replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..defaults import user_device_dirs
from ..formats import did_you_mean, target_names
from .detect import HostFacts, detect_device, read_host
from .device_profile import DeviceProfile, DeviceProfileError, read_device_profile
from .runtime_choice import RuntimeProbe, choose_auto, probe_runtimes

SHIPPED = Path(__file__).parent / "profiles"


def device_profile_folders(extra: Sequence[str | Path] = ()) -> list[Path]:
    return [SHIPPED, Path.home() / ".config" / "sfc-sdk" / "devices", *user_device_dirs(), *map(Path, extra)]


def load_device_profiles(extra: Sequence[str | Path] = ()) -> dict[str, DeviceProfile]:
    profiles: dict[str, DeviceProfile] = {}
    for folder in device_profile_folders(extra):
        if folder in map(Path, extra) and not folder.is_dir():
            raise DeviceProfileError(f"profiles folder not found: {folder}")
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            profile = read_device_profile(path)
            profiles[profile.name] = profile
    return profiles


def list_devices(extra: Sequence[str | Path] = ()) -> list[DeviceProfile]:
    return list(load_device_profiles(extra).values())


@dataclass(frozen=True)
class ResolvedDevice:
    profile: DeviceProfile
    how: str  # one line for the user: why this profile


def resolve_device(name: str, extra: Sequence[str | Path] = (), facts: HostFacts | None = None,
                   probe: RuntimeProbe | None = None, calib: bool = False) -> ResolvedDevice:
    """A profile name, a family name (`jetson`, `raspberry-pi`, `intel`, ...) or `auto`.
    `auto` also picks the fastest runtime installed here (`runtime_choice`): the returned
    profile's target and precision are that choice, and `how` says why. `probe`: recorded
    runtime answers instead of asking this machine's; `calib`: calibration clips are given."""
    profiles = load_device_profiles(extra)
    name = name if name in profiles else name.lower()
    if name in profiles:
        return ResolvedDevice(profiles[name], f"device {name}")
    facts = facts if facts is not None else read_host()
    detected = detect_device(profiles.values(), facts)
    if name == "auto":
        if detected is None:
            raise DeviceProfileError(f"could not recognise this device ({facts.describe()}); name one: "
                                     f"{', '.join(profiles)}")
        choice = choose_auto(detected.profile, facts, probe if probe is not None else probe_runtimes(), calib)
        profile = replace(detected.profile, target=choice.format, precision=choice.precision)
        return ResolvedDevice(profile, f"{detected.how}; runtime: {choice.reason}")
    members = [p for p in profiles.values() if p.family == name]
    if not members:
        families = sorted({p.family for p in profiles.values()})
        # A typo may be of any --target: a format, an alias, a device, a family or auto.
        hint = did_you_mean(name, [*profiles, *families, "auto", *target_names()])
        raise DeviceProfileError(f"unknown device {name!r}{hint}; devices: {', '.join(profiles)}; "
                                 f"families: {', '.join(families)}")
    if detected and detected.profile.family == name:
        return ResolvedDevice(detected.profile, f"family {name}: {detected.how}")
    default = next((p for p in members if p.family_default), members[0])
    return ResolvedDevice(default, f"family {name}: not running on one, so its default member {default.name} "
                                   f"(others: {', '.join(p.name for p in members if p is not default) or 'none'})")
