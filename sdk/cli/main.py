"""The `sfc-sdk` command group. Every SfcError becomes one line on stderr and exit code 1.

Each command lives in its own module and imports what it needs (torch, a runtime,
OpenCV) when it runs, so `sfc-sdk --help` and `sfc-sdk devices` stay fast.
"""

from __future__ import annotations

import sys

import click

from .. import logs
from ..errors import SfcError
from .convert import convert, formats
from .demo import demo
from .devices import devices, profile
from .import_checkpoint import import_checkpoint
from .info import backbones, info
from .models import models, pull
from .predict import predict
from .train import train
from .watch import watch


class _Cli(click.Group):
    """Turns the SDK's typed errors, and click's own usage errors, into one line on stderr
    instead of a traceback or a usage block: exit 1 for what went wrong, 2 for a malformed
    command line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SfcError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except click.UsageError as e:
            command = f"{e.ctx.command_path} --help" if e.ctx else "sfc-sdk --help"
            click.echo(f"error: {e.format_message()} (see {command})", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sfc-sdk", prog_name="sfc-sdk")
@click.option("-v", "--verbose", count=True, help="More on stderr: details (-v), and the libraries' own logs (-vv).")
@click.option("-q", "--quiet", is_flag=True, help="Results and errors only: no progress or notes on stderr.")
def main(verbose: int, quiet: bool) -> None:
    """Fast video action recognition with Selective Feature Compression.

    Results go to stdout, everything else to stderr."""
    if verbose and quiet:
        raise click.UsageError("-v and -q do not go together")
    logs.configure(logs.QUIET if quiet else min(verbose, logs.DEBUG))


for _command in (predict, backbones, import_checkpoint, info, demo, train, convert, formats, devices, profile,
                 watch, models, pull):
    main.add_command(_command)
