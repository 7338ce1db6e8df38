"""Per-term metrics and the reward table, from the adapter's own dicts."""

from __future__ import annotations

import json

import pytest

from justrl.reward_log import table_rows, term_metrics, write_table
from reward_fns.adapter import compute_score

KWARGS = {"incorrect_score": 0.0, "terms": {"format": {"weight": 0.1, "think_check": "closing_tag"}, "redundancy": {"weight": 0.3}}}
RESPONSES = ["</think>\\boxed{5}", "\\boxed{5}", "\\boxed{4}", "I do not know"]


@pytest.fixture(scope="module")
def infos():
    return [compute_score("math_dapo", response, "5", None, **KWARGS) for response in RESPONSES]


def test_each_term_by_name_with_the_share_it_changed(infos):
    metrics = term_metrics(infos)
    assert metrics["justrl/term/correctness/mean"] == 0.5
    # Only the correct answer without </think> loses the 0.1 format term.
    assert (metrics["justrl/term/format/mean"], metrics["justrl/term/format/changed"]) == (pytest.approx(-0.1 / 4), 0.25)
    assert (metrics["justrl/term/redundancy/mean"], metrics["justrl/term/redundancy/changed"]) == (0.0, 0.0)
    assert "justrl/term/correctness/changed" not in metrics


def test_reward_table_rows_add_up(infos, tmp_path):
    path = write_table(tmp_path, 10, table_rows(infos, ["math_dapo"] * 4))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert path == tmp_path / "reward_tables" / "step_10.jsonl"
    assert [row["response"] for row in rows] == RESPONSES
    assert [row["total"] for row in rows] == [1.0, 0.9, 0.0, 0.0]
    assert all(row["total"] == max(0.0, row["correctness"] + row["format"] + row["redundancy"]) for row in rows)
