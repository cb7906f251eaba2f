"""`ChoiceOf`: a click choice whose values are a tuple defined where the vocabulary lives.

The API validates its arguments against tuples such as `MODES` (inference/recognizer.py)
or `DISTILL_MODES` (training/sfc.py); an option built from the same tuple offers exactly
what the API accepts, so a value added there reaches the CLI. The tuple is read when
click first needs it (a command's --help, or parsing its options), not when the CLI is
imported: those modules import OpenCV or torch, and `sfc-sdk --help` imports neither.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

import click


class ChoiceOf(click.Choice):
    """`click.Choice` over the tuple `where` names ("package.module:NAME"), read on first use."""

    def __init__(self, where: str, case_sensitive: bool = True) -> None:
        self.where = where
        self._values: tuple[str, ...] | None = None
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple[str, ...]:
        if self._values is None:
            module, name = self.where.split(":")
            self._values = tuple(getattr(importlib.import_module(module), name))
        return self._values

    @choices.setter
    def choices(self, values: Iterable[str]) -> None:
        self._values = tuple(values)
