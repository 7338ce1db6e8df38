"""The benchmark registry matches the published protocol and the shipped files."""

from __future__ import annotations

import pytest

from data_prep.benchmarks import load_registry
from data_prep.errors import PrepError

NINE = ["AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "OlympiadBench", "HMMT25", "BRUMO25", "CMIMC25"]


def test_registry_lists_the_nine_with_published_samples(benchmarks_dir):
    reg = load_registry()
    assert reg.names == NINE
    assert {n: reg.get(n).samples for n in NINE} == {
        "AIME24": 32, "AIME25": 32, "AMC23": 32, "MATH-500": 4, "Minerva": 4,
        "OlympiadBench": 4, "HMMT25": 32, "BRUMO25": 32, "CMIMC25": 32,
    }
    assert reg.prompt_suffix == "\n\nPlease reason step by step, and put your final answer within \\boxed{}."
    assert reg.get("OlympiadBench").folder == "Olympiad-Bench"
    for name in NINE:
        assert (benchmarks_dir / reg.get(name).local.path).is_file(), name


def test_unknown_name_and_bad_entry_are_named(tmp_path):
    with pytest.raises(PrepError, match="unknown benchmark 'AIME26'"):
        load_registry().get("AIME26")
    bad = tmp_path / "b.yaml"
    bad.write_text("prompt_suffix: x\nbenchmarks:\n  A:\n    samples: 0\n")
    with pytest.raises(PrepError, match=r"A\.samples must be a positive integer, got 0"):
        load_registry(bad)
