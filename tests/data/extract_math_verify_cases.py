"""Rebuild tests/data/math_verify_0_9_0_cases.json from Math-Verify's PyPI sdist.

    pip download --no-deps --no-binary :all: math-verify==0.9.0 -d DIR
    python tests/data/extract_math_verify_cases.py DIR/math_verify-0.9.0.tar.gz > /tmp/cases.json
    mv /tmp/cases.json tests/data/math_verify_0_9_0_cases.json

(through a temporary file: the script reads the current JSON's notes before it writes).

Not needed at test time: the test reads only the JSON. The sdist's test files are read with
``ast``, never imported. The "disagreement" notes are carried over from the JSON already there
(matched by test and line), because they are our judgement, not upstream data.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import sys
import tarfile
from pathlib import Path

# The files whose tests compare a gold with a pred (compare_strings, or verify(parse(gold), parse(pred))).
TAKEN = (
    "test_all.py", "test_boxed.py", "test_numina_cases.py",
    "test_open_thoughts.py", "test_strict.py", "test_yujianll.py",
)
LEFT_OUT = {
    "test_string_extraction.py": "option-letter extraction (StringExtractionConfig) against parse's output; no gold",
    "test_configs.py": "parse() under LatexExtractionConfig settings; no gold/pred pair",
    "test_gamma_func.py": "parse() output against a SymPy expression; no gold/pred pair",
    "test_raise_on_error.py": "parse/verify error-raising switches; no gold/pred pair",
    "test_timeout.py": "Math-Verify's signal timeouts; no gold/pred pair",
}
OPTION_NAMES = {"precision": "float_rounding", "strict": "strict", "allow_set_relation_comp": "allow_set_relation_comp"}
DEFAULTS = {"float_rounding": 6, "strict": True, "allow_set_relation_comp": False}
DATA = Path(__file__).with_name("math_verify_0_9_0_cases.json")


def value(node: ast.AST) -> object:
    if isinstance(node, ast.JoinedStr):  # the one f-string case: f"{math.sqrt(17):.15f}"
        return eval(ast.unparse(node), {"__builtins__": {}, "math": math})  # noqa: S307
    return ast.literal_eval(node)


def cases_of(name: str, source: str) -> list[dict]:
    cases = []
    for fn in ast.parse(source).body:
        if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test_"):
            continue
        calls = [
            n for n in ast.walk(fn)
            if isinstance(n, ast.Call) and getattr(n.func, "id", "") in ("compare_strings", "verify")
        ]
        if len(calls) != 1 or len(calls[0].args) < 2:
            continue
        call = calls[0]
        rows: list[tuple[int, dict]] = [(call.lineno, {})]
        for deco in fn.decorator_list:
            if isinstance(deco, ast.Call) and ast.unparse(deco.func) == "pytest.mark.parametrize":
                names = [s.strip() for s in ast.literal_eval(deco.args[0]).split(",")]
                rows = [(e.lineno, dict(zip(names, map(value, e.elts)))) for e in deco.args[1].elts]

        def arg(node: ast.AST, bound: dict) -> object:
            if isinstance(node, ast.Call):  # parse(gold) inside verify(...)
                node = node.args[0]
            return bound[node.id] if isinstance(node, ast.Name) else value(node)

        # `assert compare_strings(...) == expected`, `int(verify(...)) == result` or `... == 1`
        verdict = next(
            n.comparators[0] for n in ast.walk(fn) if isinstance(n, ast.Compare) and call in ast.walk(n.left)
        )
        for line, bound in rows:
            options, extraction = dict(DEFAULTS), ["latex", "expr"]
            for kw in call.keywords:
                if kw.arg == "match_types":
                    extraction = value(kw.value)
                elif kw.arg in OPTION_NAMES:
                    options[OPTION_NAMES[kw.arg]] = arg(kw.value, bound)
            cases.append({
                "test": f"tests/{name}::{fn.name}", "line": line,
                "gold": arg(call.args[0], bound), "pred": arg(call.args[1], bound),
                "expected": bool(arg(verdict, bound)), "options": options, "upstream_extraction": extraction,
            })
    return cases


def main(sdist: Path) -> None:
    old = json.loads(DATA.read_text(encoding="utf-8"))["cases"] if DATA.exists() else []
    notes = {(c["test"], c["line"]): c["disagreement"] for c in old if "disagreement" in c}
    cases = []
    with tarfile.open(sdist) as tar:
        root = tar.getnames()[0].split("/")[0]
        for name in TAKEN:
            cases += cases_of(name, tar.extractfile(f"{root}/tests/{name}").read().decode())
    for case in cases:
        if (case["test"], case["line"]) in notes:
            case["disagreement"] = notes[case["test"], case["line"]]
    source = {
        "sdist": "PyPI sdist math-verify==0.9.0 (pip download --no-deps --no-binary :all: math-verify==0.9.0)",
        "file": sdist.name,
        "sha256": hashlib.sha256(sdist.read_bytes()).hexdigest(),
        "license": "Apache-2.0 (the sdist's LICENCE)",
        "files": [f"tests/{n}" for n in TAKEN],
        "left_out": {f"tests/{n}": why for n, why in LEFT_OUT.items()},
        "taken": "each case of these files' compare_strings / verify(parse(gold), parse(pred)) tests, with 'line' "
        "the line of its parametrize entry (or of the call), the options its test passes (compare_strings' "
        "precision as float_rounding, strict, allow_set_relation_comp; Math-Verify's defaults otherwise) and "
        "'upstream_extraction' the match_types it parses with (reward_fns parses gold as LaTeX, pred with both)",
        "script": "tests/data/extract_math_verify_cases.py",
    }
    how_run = (
        "tests/rewards/test_reward_upstream_cases.py: reward_fns.verify.math_verify(pred, gold, **options). "
        "Where the verdict differs from 'expected', 'disagreement' says why."
    )
    json.dump({"source": source, "how_run": how_run, "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
