"""The project needs nothing outside its clone: the data its tests and offline commands read is
package data, installed with it, and no file points users at a folder they do not have."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Written in pieces so that this file does not match itself.
OUTSIDE = ("../" + "shared", "shared/" + "data", "RECIPES" + ".md")


def tracked(*paths: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", *paths], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.split()


def test_wheel_ships_every_bundled_file(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(REPO), "-w", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=True,
    )
    (wheel,) = tmp_path.glob("justrl-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    bundled = tracked("justrl_common/bundled")
    assert len([p for p in bundled if p.endswith("test.parquet")]) == 9
    assert "justrl_common/bundled/histories/exp001_collapse.json" in bundled
    assert sorted(set(bundled) - shipped) == []


def test_no_file_cites_a_folder_outside_the_repository():
    citing = []
    for name in tracked():
        path = REPO / name
        if path.suffix in {".parquet", ".json"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        citing += [f"{name}: {word}" for word in OUTSIDE if word in text]
    assert citing == []


def torch_installs() -> list[str]:
    """The `pip install torch...` step of README's two set-up blocks and of .ci/run (quiet flag aside)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in readme.split("```bash\n")[1:3]]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    steps = []
    for text in [*blocks, ci]:
        steps += [step.strip().replace(" -q", "") for step in text.replace("\n", "&&").split("&&")
                  if step.strip().startswith("pip install") and " torch==" in step]
    return steps


def test_setup_installs_pytorchs_cpu_build_the_same_way_everywhere():
    steps = torch_installs()
    assert len(steps) == 3 and len(set(steps)) == 1, steps
    assert "--index-url https://download.pytorch.org/whl/cpu" in steps[0]


def test_setup_line_resolves_to_a_cpu_build_here(tmp_path):
    """What pip picks for the README's line on this machine: a +cpu wheel, never the CUDA build."""
    args = shlex.split(torch_installs()[0])[2:]
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", *args],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(r"Would install torch-2\.13\.0\+cpu\b", out.stdout), out.stdout[-2000:]
