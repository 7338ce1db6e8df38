"""reward_fns.dapo_strings: veRL's own DAPO string helpers, loaded without the `verl` package (whose
import pulls in torch) - and the checks that fail when veRL 0.9.1's math_dapo.py changes shape."""

import ast
import json
import subprocess
import sys

import verl.utils.reward_score.math_dapo as math_dapo

from reward_fns import dapo_strings

HELPERS = ("last_boxed_only_string", "remove_boxed", "normalize_final_answer")


def last_line_printed(code: str) -> str:
    """What a fresh interpreter prints last running `code`: its sys.modules is the code's own doing."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.splitlines()[-1]


def test_math_dapo_needs_only_the_standard_library():
    tree = ast.parse(dapo_strings.verl_math_dapo_path().read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"re", "typing"}
    assert dapo_strings.verl_math_dapo_path().samefile(math_dapo.__file__)


def test_scoring_text_imports_neither_verl_nor_torch():
    probe = (
        "import json, sys\n"
        "import justrl.eval.grading, reward_fns.format, reward_fns.verify\n"
        "from reward_fns import dapo_strings as d\n"
        f"print(json.dumps({{'loaded': sorted(m for m in ('verl', 'torch') if m in sys.modules),"
        f" 'files': [getattr(d, n).__code__.co_filename for n in {HELPERS!r}],"
        " 'dapo': reward_fns.verify.dapo('so \\\\boxed{\\\\frac{1}{2}}', '\\\\frac{1}{2}').correct}))\n"
    )
    seen = json.loads(last_line_printed(probe))
    assert seen["loaded"] == []
    assert seen["files"] == [math_dapo.__file__] * 3
    assert seen["dapo"] is True


def test_inside_a_verl_process_the_helpers_are_verls_own():
    probe = (
        "import verl.utils.reward_score.math_dapo as m\n"
        "from reward_fns import dapo_strings as d\n"
        f"print(all(getattr(d, n) is getattr(m, n) for n in {HELPERS!r}))\n"
    )
    assert last_line_printed(probe) == "True"
