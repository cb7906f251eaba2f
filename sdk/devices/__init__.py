"""Devices: device profiles, detection, on-device measurement, and the ratio that meets a budget.

    from sfc_sdk.devices import resolve_device, choose_ratio
    device = resolve_device("jetson").profile          # a family, a name, or "auto"

Two ideas, two names: a *device profile* (`device_profile.py`, `DeviceProfile`) is the
JSON description of a device: one file in `profiles/` (or a user folder, see
`registry.py`); a *measurement* (`measure.py`, `Measurement`) is what `sfc-sdk profile`
measures of a model on this machine, kept in the measurement cache.
This package imports neither torch nor a runtime; `convert.py` (convert for a target:
`sfc_sdk.convert`) and `measure.py` (`sfc-sdk profile`) do, and are imported by name.
"""

from .detect import HostFacts, detect_device, read_host
from .device_profile import DeviceProfile, DeviceProfileError, read_device_profile
from .planner import NoFitError, RatioChoice, RatioOption, choose_ratio, cost_model_options
from .registry import ResolvedDevice, list_devices, load_device_profiles, resolve_device

__all__ = ["DeviceProfile", "DeviceProfileError", "HostFacts", "NoFitError", "RatioChoice", "RatioOption",
           "ResolvedDevice", "choose_ratio", "cost_model_options", "detect_device", "list_devices",
           "load_device_profiles", "read_device_profile", "read_host", "resolve_device"]
