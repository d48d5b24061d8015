"""The wheel installs only the distribution's own names (``ledger``, and the HTTP API as
``ledger_api``), ships ``py.typed`` for both, and builds without a setuptools warning."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def test_the_wheel_holds_ledger_and_ledger_api_typed_and_builds_cleanly(tmp_path: Path) -> None:
    source = tmp_path / "source"
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout
    for name in archive.decode().split("\0"):
        if name and (ROOT / name).is_file():
            target = source / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((ROOT / name).read_bytes())
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-v",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    warnings = [
        line
        for line in (built.stdout + built.stderr).splitlines()
        if ("Warning" in line or "warning:" in line.lower())
        and "byte-compil" not in line
        and "Location" not in line
    ]
    assert warnings == []
    [wheel] = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "ledger",
        "ledger_api",
        "service_hour_ledger-0.1.0.dist-info",
    }
    assert {"ledger/py.typed", "ledger_api/py.typed"} <= set(names)
    assert "ledger_api/routes/docs.py" in names and "ledger_api/pages/stats.py" in names
