"""What `pip install .` installs: the licence and the notice in the wheel's metadata, and the
shipped reader with its manifest and card inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.auxil.cli import ROOT


def test_the_wheel_carries_the_licence_the_notice_and_the_reader(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("quotebot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    metadata = zipfile.ZipFile(wheel).read(meta).decode()
    assert "License-Expression: Apache-2.0 AND CC-BY-SA-4.0" in metadata
    licences = {Path(n).name for n in names if ".dist-info/licenses/" in n}
    assert {"LICENSE", "NOTICE"} <= licences
    reader = {Path(n).name for n in names if n.startswith("quotebot/models/reader/")}
    assert {"reader-int8.onnx", "tokenizer.json", "manifest.json", "README.md"} <= reader
