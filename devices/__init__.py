"""Device profiles: which runtime, precision and compression ratio meet a latency budget.

Status: the `DeviceProfile` record is in place; shipped profiles, detection and
on-device profiling are the subject of a later milestone.
"""

from .profile import DeviceProfile

__all__ = ["DeviceProfile"]
