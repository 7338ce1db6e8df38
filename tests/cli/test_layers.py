"""Imports run one way: entry points -> trainer glue (justrl/) -> data_prep/ and reward_fns/ ->
shared utilities (justrl_common/), with no arrow back, so each layer can be read, tested and
changed without the ones above it. Every .py file of the project is parsed (not imported) and each
import, at module level or inside a function, is checked against its folder's rules."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def project_files() -> list[Path]:
    """Every .py file git knows or would add (tracked, or untracked and not ignored)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )
    return [REPO / name for name in sorted(set(out.stdout.split())) if (REPO / name).is_file()]


def module_names(folder: str) -> tuple[str, ...]:
    """What `import NAME` reaches in a folder put on sys.path: its modules and packages, by name."""
    root = REPO / folder
    names = {p.stem for p in root.glob("*.py")} | {p.parent.name for p in root.glob("*/__init__.py")}
    return (folder, *sorted(names))


TESTS, BENCHMARKS = module_names("tests"), module_names("benchmarks")
# folder -> the modules its files may not import (a name covers its submodules).
RULES = {
    "data_prep": ("justrl", *TESTS, *BENCHMARKS),
    "reward_fns": ("justrl", "data_prep", "pandas", *TESTS, *BENCHMARKS),
    "justrl_common": ("justrl", "data_prep", "reward_fns", *TESTS, *BENCHMARKS),
    "justrl": (*TESTS, *BENCHMARKS),
    "benchmarks": TESTS,
}


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import; relative imports stay inside their package."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def covers(forbidden: str, module: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


def violations(folder: str) -> list[str]:
    bad = []
    for path in project_files():
        relative = path.relative_to(REPO)
        if relative.parts[0] != folder:
            continue
        for line, module in imported_modules(ast.parse(path.read_text(encoding="utf-8"), str(relative))):
            hits = [name for name in RULES[folder] if covers(name, module)]
            bad += [f"{relative}:{line}: imports {module} ({folder}/ may not import {hits[0]})"] if hits else []
    return bad


def test_every_project_file_parses():
    for path in project_files():
        ast.parse(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))


@pytest.mark.parametrize("folder", list(RULES))
def test_imports_run_one_way(folder):
    assert (REPO / folder).is_dir(), f"{folder}/ not found: update RULES in {Path(__file__).name}"
    bad = violations(folder)
    assert not bad, "imports against the layers:\n" + "\n".join(bad)
