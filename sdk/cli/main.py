"""The `sfc-sdk` command group. Every SfcError becomes one line on stderr and exit code 1.

Each command lives in its own module and imports what it needs (torch, a runtime,
OpenCV) when it runs, so `sfc-sdk --help` and `sfc-sdk devices` stay fast.
"""

from __future__ import annotations

import sys

import click

from ..errors import SfcError
from .convert import convert, formats
from .demo import demo
from .devices import devices, profile
from .import_checkpoint import import_checkpoint
from .info import backbones, info
from .predict import predict
from .train import train
from .watch import watch


class _Cli(click.Group):
    """Turns the SDK's typed errors into a one-line message instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SfcError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sfc-sdk", prog_name="sfc-sdk")
def main() -> None:
    """Fast video action recognition with Selective Feature Compression."""


for _command in (predict, backbones, import_checkpoint, info, demo, train, convert, formats, devices, profile,
                 watch):
    main.add_command(_command)
