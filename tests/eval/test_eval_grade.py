"""justrl-grade on JSONL written from the real benchmark files: verdicts, statistics, tables."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from justrl.cli.grade import main as grade_main
from justrl.eval.grading import Grade, GradeTask, chunk_size, grade_all
from justrl.eval.results import grade_dir
from justrl.eval.tables import load_published, markdown, published_for, table_rows

R1 = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
HEADER = "| model | AIME24 | AIME25 | AMC23 | MATH-500 | Minerva | OlympiadBench | HMMT25 | BRUMO25 | CMIMC25 | Avg |"
# With fewer than the nine evaluated, the paper's own Avg of the published rows is kept beside the recomputed one.
PARTIAL_HEADER = HEADER + " Avg (paper, all 9) |"


def real_rows(benchmarks_dir: Path, folder: str, count: int) -> list[tuple[str, str]]:
    """(problem, bare answer) of the first rows of a shipped benchmark file, either schema."""
    frame = pd.read_parquet(benchmarks_dir / folder / "test.parquet").head(count)
    if "prompt" in frame:
        pairs = [(p[0]["content"], rm["ground_truth"]) for p, rm in zip(frame["prompt"], frame["reward_model"])]
    else:
        pairs = list(zip(frame["problem"], frame["answer"]))
    return [(q, re.sub(r"^\\boxed\{(.*)\}$", r"\1", a)) for q, a in pairs]


def write_jsonl(path: Path, rows: list[tuple[str, str]], responses: list[list[tuple[str, str]]]) -> None:
    with path.open("w") as fh:
        for i, ((problem, truth), resp) in enumerate(zip(rows, responses)):
            record = {
                "benchmark": path.stem,
                "index": i,
                "problem": problem,
                "ground_truth": truth,
                "n": len(resp),
                "responses": [
                    {"text": text, "num_tokens": 100 + 10 * j, "finish_reason": reason}
                    for j, (text, reason) in enumerate(resp)
                ],
            }
            fh.write(json.dumps(record) + "\n")


def ok(text: str) -> tuple[str, str]:
    return (f"<think>Let me work it out.</think>\n\nThe final answer is {text}.", "stop")


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory, benchmarks_dir) -> Path:
    out = tmp_path_factory.mktemp("eval")
    aime = real_rows(benchmarks_dir, "AIME24", 2)
    assert [a for _, a in aime] == ["204", "113"]
    write_jsonl(out / "AIME24.jsonl", aime, [
        # correct, incorrect twice (the majority), truncated mid-reasoning
        [ok("\\boxed{204}"), ok("\\boxed{205}"), ok("\\boxed{205}"), ("Let me compute, so s = 2.5 and then", "length")],
        # stated without a box (math-verify reads it), and three boxed
        [("The answer is 113", "stop"), ok("\\boxed{113}"), ok("\\boxed{113}"), ok("\\boxed{113}")],
    ])
    math500 = real_rows(benchmarks_dir, "MATH-500", 1)
    assert math500[0][1] == "\\left( 3, \\frac{\\pi}{2} \\right)"
    write_jsonl(out / "MATH-500.jsonl", math500, [[ok("\\boxed{(3, \\pi/2)}"), ok("\\boxed{(3, \\pi)}")]])
    minerva = real_rows(benchmarks_dir, "Minerva", 1)
    assert minerva[0][1] == "1.6"
    write_jsonl(out / "Minerva.jsonl", minerva, [[ok("\\boxed{1.60}"), ok("\\boxed{16}")]])
    hmmt = real_rows(benchmarks_dir, "HMMT25", 1)
    write_jsonl(out / "HMMT25.jsonl", hmmt, [[ok("\\boxed{103}"), ok("\\boxed{103}")]])
    with (out / "HMMT25.jsonl").open("a") as fh:
        fh.write("not json at all\n")
        fh.write('{"index": 5, "ground_truth": "1", "respo')  # torn by a crash
    cmimc = real_rows(benchmarks_dir, "CMIMC25", 1)
    assert cmimc[0][1] == "\\frac{13}{32}"
    write_jsonl(out / "CMIMC25.jsonl", cmimc, [[ok("\\boxed{0.40625}"), ok("\\boxed{\\dfrac{13}{32}}")]])
    (out / "run.json").write_text(json.dumps({"model": R1, "base_model": None, "sampling": {"temperature": 0.7}}))
    return out


@pytest.fixture(scope="module")
def graded(eval_dir) -> dict:
    return grade_dir(eval_dir, workers=2, timeout_s=60, progress=False)


def test_verdicts_per_response(graded, eval_dir):
    lines = [json.loads(x) for x in (eval_dir / "grades" / "AIME24.jsonl").read_text().splitlines()]
    assert [[g["correct"] for g in line["grades"]] for line in lines] == [
        [True, False, False, False],
        [True, True, True, True],
    ]
    assert [line["num_correct"] for line in lines] == [1, 4]
    assert lines[0]["grades"][1]["pred"] == "205"
    for name, expected in {"MATH-500": [True, False], "Minerva": [True, False], "CMIMC25": [True, True]}.items():
        line = json.loads((eval_dir / "grades" / f"{name}.jsonl").read_text())
        assert [g["correct"] for g in line["grades"]] == expected, (name, line)


def test_benchmark_statistics(graded):
    aime = graded["benchmarks"]["AIME24"]
    assert aime["n"] == [4] and aime["problems"] == 2 and aime["samples"] == 8
    assert aime["avg"] == pytest.approx(0.625)
    assert aime["pass_at_k"] == pytest.approx({"1": 0.625, "2": 0.75, "4": 1.0})
    assert aime["maj"] == pytest.approx(0.5)
    assert aime["truncated_share"] == pytest.approx(1 / 8)
    assert aime["mean_response_tokens"] == pytest.approx(115.0)
    assert graded["benchmarks"]["MATH-500"]["avg"] == pytest.approx(0.5)
    assert graded["benchmarks"]["CMIMC25"]["avg"] == pytest.approx(1.0)
    assert list(graded["benchmarks"]) == ["AIME24", "MATH-500", "Minerva", "HMMT25", "CMIMC25"]


def test_malformed_lines_are_counted_not_fatal(graded, eval_dir):
    hmmt = graded["benchmarks"]["HMMT25"]
    assert hmmt["malformed_lines"] == 2 and hmmt["problems"] == 1 and hmmt["avg"] == pytest.approx(1.0)
    assert graded["benchmarks"]["AIME24"]["malformed_lines"] == 0


def test_results_files_and_table_layout(graded, eval_dir):
    on_disk = json.loads((eval_dir / "results.json").read_text())
    assert on_disk["benchmarks"]["AIME24"]["avg"] == pytest.approx(0.625)
    md = (eval_dir / "results.md").read_text()
    table = md.splitlines()
    start = table.index(PARTIAL_HEADER)
    assert table[start + 2] == (
        "| DeepSeek-R1-Distill-Qwen-1.5B | 62.50 | - | - | 50.00 | 50.00 | - | 100.00 | - | 100.00 | 72.50 | - |"
    )
    # the published rows of the same backbone: Avg over the same five benchmarks, then the paper's Avg
    assert table[start + 3] == (
        "| DeepSeek-R1-Distill-Qwen-1.5B (published) | 29.90 | 22.40 | 63.82 | 84.90 | 34.65 | 45.95 | 13.44 "
        "| 30.94 | 12.89 | 35.16 | 37.65 |"
    )
    assert table[start + 4].startswith("| JustRL-DeepSeek-1.5B (published) | 52.60 |")
    assert table[start + 4].endswith("| 54.87 |")
    assert ("Avg is over the 5 benchmarks evaluated (AIME24, MATH-500, Minerva, HMMT25, CMIMC25); Avg (paper, all 9) "
            "is the published rows' Avg as the paper reports it.") in md
    assert "| AIME24 | 4 | 2 | 62.50 | 62.50 | 75.00 | 100.00 | 50.00 | 115.00 | 12.50 | 0 | 0 |" in md


def test_published_numbers_match_the_docs():
    """configs/eval/published.yaml is a faithful copy of the table in docs/published.md."""
    recipes = (Path(__file__).resolve().parents[2] / "docs" / "published.md").read_text()
    columns, published = load_published()
    for row in published:
        line = next(x for x in recipes.splitlines() if x.startswith(f"| {row.name} |"))
        cells = [float(c) for c in line.strip("|").split("|")[1:]]
        assert cells == [row.scores[c] for c in columns] + [row.avg]
        assert sum(row.scores.values()) / 9 == pytest.approx(row.avg, abs=0.01)


def test_table_with_all_nine_uses_published_avg_and_family_lookup():
    columns, published = load_published()
    rows = published_for("/ckpt/JustRL-Nemotron-1.5B/", None, published)
    assert [r.name for r in rows] == ["OpenMath-Nemotron-1.5B", "JustRL-Nemotron-1.5B"]
    assert published_for("/ckpt/global_step_50/huggingface", None, published) == []
    assert [r.name for r in published_for("/ckpt/step50", "nvidia/OpenMath-Nemotron-1.5B", published)][0] == (
        "OpenMath-Nemotron-1.5B"
    )
    header, table = table_rows("mine", {c: 50.0 for c in columns}, columns, rows)
    assert table[0][-1] == 50.0 and table[1][-1] == 56.74 and table[2][-1] == 64.32
    assert markdown(header, table).splitlines()[0] == HEADER


def test_hung_verifier_is_cut_at_the_deadline(tmp_path, benchmarks_dir):
    write_jsonl(tmp_path / "AIME24.jsonl", real_rows(benchmarks_dir, "AIME24", 1),
                [[ok("\\boxed{204} SLOW"), ok("\\boxed{204}")]])
    results = grade_dir(tmp_path, verifier="eval_doubles:sleepy_verifier", workers=2, timeout_s=2, progress=False)
    line = json.loads((tmp_path / "grades" / "AIME24.jsonl").read_text())
    assert [g["correct"] for g in line["grades"]] == [False, True]
    assert line["grades"][0]["reason"] == "grading timed out after 2s (worker killed)"
    assert results["benchmarks"]["AIME24"]["timeouts"] == 1


def test_a_custom_verifier_gets_exactly_the_options_given():
    # A custom verifier's signature may lack any option grade_all could add, so it gets none.
    tasks = [GradeTask("", "1"), GradeTask("strict_box", "1")]
    grades = grade_all(tasks, verifier="eval_doubles:options_verifier", workers=1, progress=False)
    assert [g.correct for g in grades] == [True, False]
    grades = grade_all(tasks, verifier="eval_doubles:options_verifier", options={"strict_box": True}, workers=1, progress=False)
    assert [g.correct for g in grades] == [False, True]
    assert grade_all([GradeTask("so \\boxed{\\frac{1}{2}}", "0.5")], workers=2, progress=False)[0].reason == "equivalent"


def test_a_hung_response_in_a_chunk_loses_only_itself(tmp_path, benchmarks_dir):
    responses = [ok("\\boxed{204}") for _ in range(40)]
    responses[17] = ok("\\boxed{204} SLOW")
    write_jsonl(tmp_path / "AIME24.jsonl", real_rows(benchmarks_dir, "AIME24", 1), [responses])
    assert chunk_size(40, 1) == 5  # the hung response shares its chunk with four others
    results = grade_dir(tmp_path, verifier="eval_doubles:sleepy_verifier", workers=1, timeout_s=2, progress=False)
    grades = json.loads((tmp_path / "grades" / "AIME24.jsonl").read_text())["grades"]
    assert [i for i, g in enumerate(grades) if not g["correct"]] == [17]
    assert grades[17]["reason"] == "grading timed out after 2s (worker killed)"
    assert results["benchmarks"]["AIME24"]["timeouts"] == 1


def test_a_runaway_sympy_call_in_a_grading_worker_is_killed_at_the_deadline():
    # Grading workers run math-verify in-process: math-verify's own 1 s deadline (a helper's)
    # no longer applies; the pool's kills the worker, and the next response is graded normally.
    tasks = [GradeTask("\\boxed{9^{387420489}}", "9^{9^{9}}"), GradeTask("\\boxed{\\frac{1}{2}}", "0.5")]
    grades = grade_all(tasks, verifier="math_verify", options={"precheck": False, "timeout_s": 1}, workers=1,
                       timeout_s=3, progress=False)
    assert grades == [Grade(False, None, "grading timed out after 3s (worker killed)"), Grade(True, "\\frac{1}{2}", "equivalent")]


def test_grading_workers_do_not_run_the_parents_main_script_again(tmp_path):
    """multiprocessing re-runs the parent's main script in each forkserver child (0.2-0.7 s for
    justrl-grade); grading workers need nothing from it. The script logs every run of its top level."""
    runs = tmp_path / "runs"
    script = tmp_path / "grade_script.py"
    script.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from justrl.eval.grading import GradeTask, grade_all

        with Path({str(runs)!r}).open("a") as log:
            log.write(__name__ + "\\n")
        if __name__ == "__main__":
            grades = grade_all([GradeTask(r"\\boxed{{0.5}}", r"\\frac{{1}}{{2}}")] * 4, workers=2, progress=False)
            print(sum(g.correct for g in grades))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["4"]
    assert runs.read_text().split() == ["__main__"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["{tmp}/nope"], "evaluation directory {tmp}/nope not found"),
        (["{tmp}"], "no <BENCHMARK>.jsonl files in {tmp}"),
        (["{eval}", "--benchmarks", "AIME25"], "{eval}/AIME25.jsonl not found"),
        (["{eval}", "--verifier", "sympy"], "unknown verifier 'sympy'"),
        (["{eval}", "--workers", "0"], "--workers must be a positive integer, got 0"),
        # nan and inf once timed out every response after the first, with exit status 0
        (["{eval}", "--timeout", "nan"], "--timeout must be a positive finite number of seconds, got nan"),
        (["{eval}", "--timeout", "inf"], "--timeout must be a positive finite number of seconds, got inf"),
        (["{eval}", "--timeout", "0"], "--timeout must be a positive finite number of seconds, got 0.0"),
    ],
)
def test_cli_errors_are_one_line(args, message, tmp_path, eval_dir, capsys):
    fill = {"tmp": tmp_path, "eval": eval_dir}
    assert grade_main([a.format(**fill) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.format(**fill) in err


def test_cli_logs_table_to_wandb_offline(graded, eval_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    shutil.copytree(eval_dir, out)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert grade_main([str(out), "--workers", "2", "--no-progress", "--wandb-project", "justrl-eval-test"]) == 0
    stdout = capsys.readouterr().out
    assert PARTIAL_HEADER in stdout and "logged the tables to W&B project justrl-eval-test" in stdout
    tables = list(out.glob("wandb/offline-run-*/files/media/table/eval/results_*.table.json"))
    assert len(tables) == 1
    logged = json.loads(tables[0].read_text())
    assert logged["columns"] == PARTIAL_HEADER.strip("| ").split(" | ")
    assert logged["data"][0][0] == "DeepSeek-R1-Distill-Qwen-1.5B" and logged["data"][0][1] == pytest.approx(62.5)


def test_nothing_gradable_keeps_the_summary_and_exits_non_zero(tmp_path, capsys):
    (tmp_path / "AIME24.jsonl").write_text('{"index": 0, "responses": [{"text": "4"}]}\ngarbage\n')
    assert grade_main([str(tmp_path), "--workers", "1", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert ("AIME24.jsonl: skipped 2 malformed and 0 duplicate lines (first malformed, line 1: "
            "missing key 'ground_truth')") in captured.err
    assert captured.err.strip().splitlines()[-1] == (
        f"justrl-grade: error: no response in {tmp_path} could be graded; expected JSONL lines with "
        "'index', 'ground_truth' and 'responses' (README, \"Evaluation output\")")
    assert "No benchmark file had a gradable record." in captured.out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["benchmarks"]["AIME24"]["malformed_lines"] == 2 and results["benchmarks"]["AIME24"]["avg"] is None
    assert "No benchmark file had a gradable record." in (tmp_path / "results.md").read_text()


def test_readme_jsonl_example_is_what_the_grader_reads(tmp_path):
    """README's "Evaluation output" example, graded as written: three problems, four responses."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("### Evaluation output", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    assert len(example.splitlines()) == 3
    (tmp_path / "AIME24.jsonl").write_text(example)
    aime = grade_dir(tmp_path, workers=1, timeout_s=60, progress=False)["benchmarks"]["AIME24"]
    assert (aime["problems"], aime["samples"], aime["malformed_lines"]) == (3, 5, 0)
    assert aime["avg"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)


def test_readme_lists_every_benchmark_justrl_eval_accepts():
    from justrl.eval.benchmarks import registry

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    evaluation = readme.split("## Evaluation", 1)[1].split("\n## ", 1)[0]
    reg = registry()
    missing = [name for name in [*reg.benchmarks, *reg.extras] if name not in evaluation]
    assert missing == []
