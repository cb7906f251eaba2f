"""What the SDK says besides its results, and how much of it: one `logging` setup.

Results go to stdout; everything else (progress, notes, where a file was written) goes to
stderr through the `sfc_sdk` logger, so `sfc-sdk predict --json > out.jsonl` holds only
JSON. The CLI's `-q` keeps only warnings and errors, `-v` adds details and lets the
libraries the SDK drives speak. Those libraries are chatty by default (NNCF prints ~930
lines to stdout during one INT8 calibration; LiteRT's and TensorFlow's C++ logging; Ray's
workers), so they are held at WARNING, on stderr, unless `-v` is given.

An application that embeds the SDK configures `logging` as it likes; nothing here runs
unless the CLI (or the application) calls `configure`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LOGGER_NAME = "sfc_sdk"
# Loggers of the libraries the SDK runs, held at WARNING unless -v (their own names).
THIRD_PARTY = ("nncf", "ray", "absl", "tensorflow", "torch", "onnxscript", "openvino", "matplotlib", "PIL",
               "urllib3", "filelock")
QUIET, NORMAL, VERBOSE, DEBUG = -1, 0, 1, 2


def logger(name: str = "") -> logging.Logger:
    """The SDK's logger (`sfc_sdk`), or one under it."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


def configure(verbosity: int = NORMAL) -> None:
    """-q (QUIET): warnings and errors only; NORMAL: the SDK's notes and progress; -v
    (VERBOSE): details, and third-party INFO; -vv (DEBUG): everything."""
    level = {QUIET: logging.WARNING, NORMAL: logging.INFO}.get(verbosity, logging.DEBUG)
    sdk = logger()
    for handler in list(sdk.handlers):
        sdk.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s" if verbosity >= DEBUG else "%(message)s"))
    sdk.addHandler(handler)
    sdk.setLevel(level)
    sdk.propagate = False
    third_party = logging.DEBUG if verbosity >= DEBUG else logging.INFO if verbosity >= VERBOSE else logging.WARNING
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(third_party)
    if verbosity < VERBOSE:
        # C++ logging of TensorFlow/LiteRT and glog users, read when those libraries load:
        # set only where the user has not chosen.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("GLOG_minloglevel", "2")
    # Anything a library still logs through the root logger goes to stderr, never stdout.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING if verbosity < VERBOSE else logging.INFO)


def third_party_verbose() -> bool:
    """True where the user asked for the libraries' own output (-v)."""
    return logger().isEnabledFor(logging.DEBUG)


def show_progress() -> bool:
    """Progress bars, unless the user asked for quiet (-q)."""
    return logger().isEnabledFor(logging.INFO)


@contextmanager
def native_stderr_quiet() -> Iterator[None]:
    """Silence what native code writes straight to file descriptor 2 while the block runs
    (LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" from C++, past Python's
    logging and every environment switch), unless the user asked for it (-v). Only around
    short calls: other threads' stderr is silenced too while it runs."""
    if third_party_verbose() or not logger().handlers:  # -v, or not run by the CLI: leave stderr alone
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
