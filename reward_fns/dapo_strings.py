"""veRL's DAPO string helpers (the last `\\boxed{}`, `remove_boxed`, `normalize_final_answer`)
without importing the `verl` package.

`import verl.utils.reward_score.math_dapo` runs `verl/__init__.py`, which imports torch and
tensordict: about 5 s in every grading worker, format check and command that only scores text.
No veRL extension point covers this; the smallest workaround is to load veRL's installed
`math_dapo.py` (it needs only `re` and `typing`) as a module of its own. In a process that has
imported veRL already (a Ray reward worker) veRL's own module is used. tests/rewards/test_reward_dapo_strings.py
fails if veRL moves that file or gives it other imports.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

VERL_MODULE = "verl.utils.reward_score.math_dapo"


def verl_math_dapo_path() -> Path:
    """Where veRL's math_dapo.py is installed, found without importing veRL."""
    package = importlib.util.find_spec("verl")
    if package is None or not package.submodule_search_locations:
        raise ImportError("veRL is not installed: pip install verl==0.9.1")
    return Path(package.submodule_search_locations[0]) / "utils" / "reward_score" / "math_dapo.py"


def _math_dapo() -> ModuleType:
    if VERL_MODULE in sys.modules:
        return sys.modules[VERL_MODULE]
    spec = importlib.util.spec_from_file_location("reward_fns._verl_math_dapo", verl_math_dapo_path())
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_dapo = _math_dapo()
last_boxed_only_string = _dapo.last_boxed_only_string
remove_boxed = _dapo.remove_boxed
normalize_final_answer = _dapo.normalize_final_answer
