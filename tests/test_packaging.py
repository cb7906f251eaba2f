"""The package as users get it: a real tree (no links inside sdk/, so every tool sees one
package), a wheel that holds every file of it, and imports that a type checker resolves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "sdk"  # imported as sfc_sdk


def _package_files() -> set[str]:
    found = set()
    for root, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found.update(f"sfc_sdk/{Path(root, f).relative_to(PACKAGE).as_posix()}" for f in files)
    return found


def test_the_package_tree_is_real():
    links = [str(Path(root, name).relative_to(REPO)) for root, dirs, files in os.walk(PACKAGE)
             for name in dirs + files if Path(root, name).is_symlink()]
    assert not links, f"links inside the package (tools that do not follow them see islands): {links}"
    for pointer in ("converters", "runtimes", "devices"):  # the top-level folders point into it
        assert (REPO / pointer).resolve() == PACKAGE / pointer


def test_the_wheel_holds_every_file_of_the_package(tmp_path):
    """A subpackage missing from pyproject's list, or data missing from package-data, is a
    wheel that imports here (editable install) and breaks for users."""
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("sfc_sdk-*.whl")
    inside = {n for n in zipfile.ZipFile(wheel).namelist() if not n.startswith("sfc_sdk-")}
    assert _package_files() - inside == set(), "files of sdk/ missing from the wheel"
    assert "sfc_sdk/py.typed" in inside and "sfc_sdk/converters/export.py" in inside


def test_a_type_checker_resolves_every_import():
    pyright = shutil.which("basedpyright", path=str(Path(sys.executable).parent))
    assert pyright, "basedpyright is part of the dev extra"
    # --project: pyproject.toml's [tool.basedpyright], not a pyrightconfig.json in a folder above the clone
    out = subprocess.run([pyright, "--project", str(REPO / "pyproject.toml"), "--pythonpath", sys.executable],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "0 errors" in out.stdout
