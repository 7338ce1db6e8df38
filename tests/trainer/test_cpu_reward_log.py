"""Each reward term by name in a real training run's metrics, and its per-sample reward table."""

from __future__ import annotations

import json

import pytest

from cpu_runs import train

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
CAP = 16  # tiny_cpu's data.max_response_length


def test_every_term_is_logged_and_tabled_in_a_live_run(tiny_data_root, tmp_path):
    # The overlong term on, with its buffer the whole cap: each response loses weight * tokens / cap,
    # counted by justrl's reward manager inside veRL's reward loop.
    run = train(
        tiny_data_root,
        tmp_path,
        "terms",
        "reward.custom_reward_function.reward_kwargs.terms.overlong.weight=0.5",
        f"reward.custom_reward_function.reward_kwargs.terms.overlong.buffer_len={CAP}",
        "justrl.reward_table.every_n_steps=2",
        "trainer.total_training_steps=2",
        "trainer.save_freq=-1",
        "trainer.val_before_train=false",
        "trainer.test_freq=-1",
    )
    assert run.returncode == 0, run.describe()
    for step in (1, 2):
        data = run.steps[step]
        assert {f"justrl/term/{name}/mean" for name in ("correctness", "format", "redundancy", "overlong")} <= set(data)
        assert (data["justrl/term/format/changed"], data["justrl/term/overlong/changed"]) == (0.0, 1.0)
        assert data["justrl/term/overlong/mean"] == pytest.approx(-0.5 * data["justrl/response_length/mean"] / CAP)
        assert data["justrl/reward/mean"] == pytest.approx(data["justrl/term/correctness/mean"] + data["justrl/term/overlong/mean"])
    assert not (tmp_path / "ckpt" / "reward_tables" / "step_1.jsonl").exists()
    rows = [json.loads(line) for line in (tmp_path / "ckpt" / "reward_tables" / "step_2.jsonl").read_text().splitlines()]
    assert len(rows) == 32 and {"data_source", "response", "correctness", "format", "redundancy", "overlong", "total"} <= set(rows[0])
    for row in rows:
        assert row["total"] == pytest.approx(row["correctness"] + row["format"] + row["redundancy"] + row["overlong"])
        assert row["overlong"] < 0
