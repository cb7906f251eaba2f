"""Typed errors. Every failure a user can cause raises a subclass of `SfcError`.

The CLI turns any `SfcError` into a one-line message and a non-zero exit code, so
the message itself must say what went wrong and, where it helps, what to do.
"""

from __future__ import annotations


class SfcError(Exception):
    """Base class of every error sfc-sdk raises on purpose."""


# --- video input -------------------------------------------------------------
class VideoError(SfcError):
    """The video could not be turned into frames."""


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The path does not exist (or is not a file)."""


class NotAVideoError(VideoError):
    """The file exists but no decoder recognises it as a video."""


class StillImageError(NotAVideoError):
    """The file is a still image (PNG, JPEG, a one-frame GIF), not a video."""


class DamagedVideoError(VideoError):
    """The file is a video container (MP4, AVI, Matroska...) but truncated or damaged: it cannot be opened."""


class EmptyVideoError(VideoError):
    """The video opened but holds zero frames."""


class UnreadableStreamError(VideoError):
    """The container claims frames but none of them decodes."""


class InvalidFramesError(VideoError, ValueError):
    """An in-memory frame array or list has the wrong dtype, shape or values."""


# --- models and checkpoints --------------------------------------------------
class ModelError(SfcError):
    """A model could not be built or loaded."""


class UnknownBackboneError(ModelError, KeyError):
    """No backbone of that name is registered."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(ModelError):
    """A checkpoint is missing, unsafe, malformed or does not fit the model."""


class DownloadError(CheckpointError):
    """A catalogued checkpoint could not be fetched (offline, no pip): the message says how to get it by hand."""


class ConfigError(SfcError, ValueError):
    """An argument or a configuration value is out of range."""


class RuntimeUnavailableError(SfcError):
    """The requested runtime or device cannot be used on this machine."""


class MissingExtraError(SfcError, ImportError):
    """An optional dependency is not installed; the message names the pip extra that installs it.

    Also an ImportError, so code that probes for optional parts with `except ImportError` works."""


class DistributedJobError(SfcError):
    """A distributed (Ray) job failed as a whole; single videos that fail are recorded instead."""


class JobStalledError(DistributedJobError):
    """A distributed job produced no result for too long (e.g. its tasks cannot get CPUs)."""


class BundleError(ModelError):
    """A deployment bundle is missing, tampered with, or of an unknown schema."""


class ExportError(SfcError):
    """A converter failed, or its output did not match PyTorch closely enough."""


# --- live streams ------------------------------------------------------------
class StreamError(SfcError):
    """A live source (camera, network stream, growing file) failed for good."""


class StreamOpenError(StreamError):
    """The source could not be opened (no such camera, unreachable URL, not a video)."""


class StreamStalledError(StreamError):
    """The source stayed open but sent no frame for too long, reconnects included."""


class StreamDisconnectedError(StreamError):
    """The source ended or disconnected and every reconnect attempt failed."""
