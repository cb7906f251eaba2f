"""Devices: profiles, detection, on-device profiling, and the ratio that meets a budget.

    from sfc_sdk.devices import resolve_device, choose_ratio
    device = resolve_device("jetson").profile          # a family, a name, or "auto"

A new device is one JSON file in `profiles/` (or a user folder, see `registry.py`).
This package imports neither torch nor a runtime; `deploy.py` (convert for a device:
`sfc_sdk.convert`) and `profiler.py` (`sfc-sdk profile`) do, and are imported by name.
"""

from .detect import HostFacts, detect_device, read_host
from .planner import NoFitError, RatioChoice, RatioOption, choose_ratio, cost_model_options
from .profile import DeviceProfile, ProfileError, read_profile
from .registry import ResolvedDevice, list_devices, load_profiles, resolve_device

__all__ = ["DeviceProfile", "HostFacts", "NoFitError", "ProfileError", "RatioChoice", "RatioOption",
           "ResolvedDevice", "choose_ratio", "cost_model_options", "detect_device", "list_devices", "load_profiles",
           "read_host", "read_profile", "resolve_device"]
