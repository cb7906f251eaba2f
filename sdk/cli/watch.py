"""`sfc-sdk watch SOURCE`: live recognition from a camera, a stream URL or a file."""

from __future__ import annotations

import json
import statistics

import click

from ..config import REUSE_MODES
from ..errors import ConfigError


@click.command()
@click.argument("source")
@click.option("--model", "-m", help="Model directory or bundle (default: the bundled model).")
@click.option("--runtime", help="For bundles: runtime adapter instead of the manifest's.")
@click.option("--expect-digest", help="Refuse a bundle whose digest is not this one (the sha256 `convert` printed, "
              "or its first 12+ hex characters).")
@click.option("--window-s", type=float, default=4.0, show_default=True, help="Seconds of video per window.")
@click.option("--stride-s", type=float, default=1.0, show_default=True, help="Seconds between windows.")
@click.option("--target", help="Device profile, family or auto: pick the ratio that keeps up with the stride.")
@click.option("--profiles", multiple=True, type=click.Path(path_type=str), help="Folder of extra profiles.")
@click.option("--ratio", type=int, help="Compression ratio (default: the model's).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per window on stdout.")
@click.option("--max-windows", type=int, help="Stop after this many windows.")
@click.option("--stall-timeout", type=float, default=5.0, show_default=True, help="Seconds without a frame = stalled.")
@click.option("--reconnects", type=int, default=3, show_default=True, help="Reopen attempts before giving up.")
@click.option("--follow", is_flag=True, help="SOURCE is a file being written: wait for new frames at its end.")
@click.option("--reuse", type=click.Choice(REUSE_MODES), default="auto", show_default=True,
              help="Reuse the head features of overlapping windows (PyTorch models; exact): on, off, or auto: time "
                   "both on the first windows and keep the faster.")
def watch(source, model, runtime, expect_digest, window_s, stride_s, target, profiles, ratio, as_json, max_windows,
          stall_timeout, reconnects, follow, reuse) -> None:
    """Recognise actions live in SOURCE: a camera index (0), an rtsp:// or http:// URL, or a video file
    (with --follow, one still being written).

    Prints one line per window with the label, the kept moments, the latency and dropped frames."""
    from ..inference import Recognizer
    from ..video.live import SourceOptions

    rec = Recognizer(model, runtime=runtime, digest=expect_digest)  # the pin is checked as the bundle opens
    if target:
        if ratio:
            raise ConfigError("give either --target or --ratio, not both")
        if rec.model is None:
            raise ConfigError("a bundle's ratio was chosen when it was converted; --target works with model "
                              "directories (or convert with --target and watch the bundle)")
        from ..devices.convert import ratio_for_stream

        on_gpu = rec.runtime.info().device.startswith("cuda")
        ratio, why = ratio_for_stream(target, rec.model, rec.config, rec.model_path, stride_s, on_gpu=on_gpu,
                                      profiles=profiles)
        click.echo(why, err=True)
    options = SourceOptions(stall_timeout_s=stall_timeout, reconnects=reconnects, follow=follow)
    latencies, last = [], None
    for result in rec.stream(source, window_s=window_s, stride_s=stride_s, ratio=ratio, reuse=reuse,
                             options=options, max_windows=max_windows):
        latencies.append(result.latency_ms)
        last = result
        click.echo(json.dumps(result.to_dict()) if as_json else result.summary(), nl=True)
    if last is None:
        raise ConfigError(f"{source}: the source ended before one full window ({window_s:g} s) arrived")
    click.echo(f"{len(latencies)} windows, latency median {statistics.median(latencies):.0f} ms, "
               f"dropped {last.dropped} samples, skipped {last.skipped_windows} windows", err=True)
