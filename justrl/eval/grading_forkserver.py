"""Preloaded by grade_all's forkserver: the workers it forks skip re-running the parent's ``__main__``.

multiprocessing prepares a forkserver child like a spawned one: it runs the parent's main script
or module again, as ``__mp_main__``, so that objects defined there can be unpickled; for
``justrl-grade`` that is its whole import tree again, 0.2-0.7 s per worker. The standard remedy,
``"__main__"`` in the forkserver's preload list, does nothing before Python 3.13: the forkserver
looks for a ``main_path`` key that the preparation data calls ``init_main_from_path``
(CPython gh-126631). Grading workers unpickle only functions of importable modules (grade_chunk,
the pebble worker, a verifier named ``module:function``), so they do not need ``__main__``.

Importing this module changes how ``multiprocessing.spawn.prepare`` treats the children of the
process that imported it; only the forkserver imports it, and in justrl only grade_all uses the
forkserver (its preload list is grade_all's too).
"""

from __future__ import annotations

from multiprocessing import spawn

_MAIN_KEYS = ("init_main_from_name", "init_main_from_path")
_prepare = spawn.prepare


def _prepare_without_main(data: dict) -> None:
    _prepare({key: value for key, value in data.items() if key not in _MAIN_KEYS})


spawn.prepare = _prepare_without_main
