"""The `sfc-sdk` command line: `main.py` is the group, one module per command group."""

from .main import main

__all__ = ["main"]
