"""justrl-format-check: thinking and boxed rates with the reward's format checks, on CPU over JSONL,
and the sampling path through the evaluation engine (Transformers engine, tiny model)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from justrl.cli.format_check import load_prompts, main
from justrl.sft.format_rates import score_records

FORMATTED = "<think>\nWe add 2 and 3.\n</think>\n\nThe answer is \\boxed{5}."
RESPONSES = [
    # (text, finish_reason): thinks, boxed, well formed
    (FORMATTED, "stop"),                                              # yes yes yes
    ("The answer is \\boxed{5}.", "stop"),                            # no  yes no
    ("<think>\nadd\n</think>\n\nfive", "stop"),                       # yes no  no
    ("<think>\nadd: \\boxed{5}\n</think>\n\nso five", "stop"),        # yes yes no (answer inside the block)
    ("<think>\nadd and add and add", "length"),                       # no  no  no (cut at the cap)
    (FORMATTED.replace("5", "6"), "stop"),                            # yes yes yes
    ("<think>\nx\n</think>\n\n\\boxed{10}", "stop"),                  # yes yes yes
    ("<think>\n</think>\n\n\\boxed{10}", "stop"),                     # no  yes no (empty block)
    ("", "stop"),                                                     # no  no  no
    ("So \\boxed{}", "stop"),                                         # no  no  no (empty box)
]


def write_jsonl(path, responses, per_record=5):
    with path.open("w") as fh:
        for i in range(0, len(responses), per_record):
            chunk = responses[i : i + per_record]
            fh.write(json.dumps({"index": i // per_record, "ground_truth": "5", "responses": [
                {"text": t, "num_tokens": len(t), "finish_reason": f} for t, f in chunk]}) + "\n")
    return path


def test_rates_use_the_reward_format_checks(tmp_path):
    rates = score_records(json.loads(line) for line in write_jsonl(tmp_path / "r.jsonl", RESPONSES).open())
    assert (rates.prompts, rates.responses) == (2, 10)
    assert (rates.thinking, rates.boxed, rates.well_formed, rates.truncated) == (0.5, 0.6, 0.3, 0.1)


def test_opened_by_prompt_counts_a_closing_tag_only():
    """R1-style templates open <think> in the prompt: the response carries only </think>."""
    record = {"responses": [{"text": "We add.\n</think>\n\n\\boxed{5}"}, {"text": FORMATTED}]}
    assert score_records([record], opened_by_prompt=True).thinking == 0.5
    assert score_records([record]).thinking == 0.5


def test_score_only_cli_prints_and_writes_rates(tmp_path, capsys):
    path = write_jsonl(tmp_path / "responses.jsonl", RESPONSES)
    with path.open("a") as fh:
        fh.write('{"index": 7, "responses": [{"text": "torn li')  # a crash mid-write is skipped
    assert main([f"responses={path}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "justrl-format-check: 2 prompts, 10 responses"
    assert out[1] == "  thinking rate   50.0%   (JustTinker: 0% before SFT, 70% after)"
    assert out[2] == "  boxed rate      60.0%   (JustTinker: 36.7% before SFT, 80% after)"
    saved = json.loads((tmp_path / "responses.format_rates.json").read_text())
    assert saved == {"prompts": 2, "responses": 10, "thinking": 0.5, "boxed": 0.6, "well_formed": 0.3, "truncated": 0.1}


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "justrl-format-check: pass model=PATH data=FILE to sample and score, or responses=FILE.jsonl to score only"),
        (["responses=missing.jsonl"], "justrl-format-check: responses=missing.jsonl: file not found"),
        (["model=m", "data=missing.parquet", "engine.kind=transformers"], "justrl-format-check: data=missing.parquet: file not found; expected a parquet written by justrl-prep"),
        (["model=m", "data=d.parquet", "n=0"], "justrl-format-check: n=0; expected a positive integer"),
        (["model=m", "data=d.parquet", "engine.kind=tpu"], "justrl-format-check: engine.kind='tpu'; expected one of vllm, transformers"),
    ],
)
def test_bad_input_is_one_line(args, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == message


def test_prompts_from_sft_and_rl_schemas(tmp_path):
    sft = tmp_path / "sft.parquet"
    pq.write_table(pa.table({"messages": [[{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": FORMATTED}]]}), sft)
    assert load_prompts(sft, None)[0].messages == ({"role": "user", "content": "What is 2 + 3?"},)
    rl = tmp_path / "rl.parquet"
    pq.write_table(pa.table({"prompt": [[{"role": "user", "content": "Q"}]], "reward_model": [{"ground_truth": "7", "style": "rule"}]}), rl)
    item = load_prompts(rl, None)[0]
    assert (item.problem, item.ground_truth) == ("Q", "7")
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"question": ["Q"]}), bad)
    with pytest.raises(ValueError, match=r"expected a 'prompt' or 'messages' column of chat messages, found question$"):
        load_prompts(bad, None)


def test_samples_with_the_eval_engine_and_resumes(tmp_path, tiny_model_dir, capsys):
    data = tmp_path / "val.parquet"
    rows = [[{"role": "user", "content": f"What is {i} + {i}?"}, {"role": "assistant", "content": FORMATTED}] for i in range(3)]
    pq.write_table(pa.table({"messages": rows}), data)
    args = [f"model={tiny_model_dir}", f"data={data}", "n=2", "limit=2", f"out={tmp_path / 'out'}",
            "engine.kind=transformers", "sampling.max_new_tokens=4", "progress=false"]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[0] == "justrl-format-check: 2 prompts, 4 responses"
    lines = (tmp_path / "out/responses.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["problem"] for r in records] == ["What is 0 + 0?", "What is 1 + 1?"]
    assert all(len(r["responses"]) == 2 and all(x["num_tokens"] <= 4 for x in r["responses"]) for r in records)
    assert main(args) == 0  # resumed: nothing left to generate, the same file is scored
    assert (tmp_path / "out/responses.jsonl").read_text().splitlines() == lines
    assert main([*args, "sampling.temperature=0.3"]) == 2
    assert "holds a run with sampling=" in capsys.readouterr().err


def test_default_output_goes_under_the_git_ignored_results_dir(tmp_path, tiny_model_dir, monkeypatch, capsys):
    data = tmp_path / "val.parquet"
    pq.write_table(pa.table({"messages": [[{"role": "user", "content": "What is 1 + 1?"}]]}), data)
    monkeypatch.chdir(tmp_path)
    args = [f"model={tiny_model_dir}", f"data={data}", "n=1", "engine.kind=transformers",
            "sampling.max_new_tokens=2", "progress=false"]
    assert main(args) == 0
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file() and p != data)
    relative = f"eval_results/format_check/{tiny_model_dir.name}"
    assert written == [f"{relative}/responses.format_rates.json", f"{relative}/responses.jsonl", f"{relative}/run.json"]
    repo = Path(__file__).resolve().parents[2]
    ignored = subprocess.run(["git", "check-ignore", "-q", f"{relative}/responses.jsonl"], cwd=repo, timeout=30)
    assert ignored.returncode == 0, f"{relative} is not git-ignored"
