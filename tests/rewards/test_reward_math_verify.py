"""math-verify equivalence, and its time bound from threads other than the main one."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from reward_fns import mathverify_pool
from reward_fns.guards import _polynomial_power, reject_reason
from reward_fns.verify import hybrid, math_verify


def _in_thread(fn, *args, **kwargs):
    """Run fn on a non-main thread (as veRL's executor does) and time it."""
    box = {}

    def target():
        started = time.monotonic()
        box["result"] = fn(*args, **kwargs)
        box["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    return box["result"], box["seconds"]


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("so the answer is \\boxed{0.5}", "\\frac{1}{2}"),
        ("hence \\boxed{\\frac{2}{4}}", "\\frac{1}{2}"),
        ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("we get \\boxed{(3, \\pi/2)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("\\boxed{2\\sqrt{2}}", "\\sqrt{8}"),
        ("\\boxed{x = 3}", "3"),
        ("\\boxed{2^{99}}", "2^{99}"),
    ],
)
def test_equivalent_answers(response, answer):
    result, _ = _in_thread(math_verify, response, answer)
    assert result.correct, result


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("\\boxed{0.51}", "\\frac{1}{2}"),
        ("\\boxed{\\sqrt{3}}", "\\sqrt{8}"),
        ("\\boxed{(3, \\pi)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("\\boxed{2^{98}}", "2^{99}"),
    ],
)
def test_non_equivalent_answers(response, answer):
    result, _ = _in_thread(math_verify, response, answer)
    assert not result.correct
    assert result.reason == "not equivalent"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("7" * 1_000_001, "response too long (1000001 characters, at most 500000)"),
        ("so \\boxed{\\frac{1}{2}", "rejected before parsing: response: unbalanced braces in the last \\boxed{}"),
        (
            "\\boxed{" + "\\frac{1}{1+" * 40 + "1" + "}" * 80 + "}",
            "rejected before parsing: response: braces nested 41 deep (at most 12)",
        ),
        ("\\boxed{10^{10^{10}}}", "rejected before parsing: response: huge exponent"),
        ("\\boxed{7^{123456789}}", "rejected before parsing: response: huge exponent"),
    ],
)
def test_pathological_input_is_rejected_quickly_off_main_thread(response, reason):
    result, seconds = _in_thread(math_verify, response, "1")
    assert (result.correct, result.reason) == (False, reason)
    assert seconds < 1.0


def test_hard_deadline_bounds_a_runaway_parse_off_main_thread():
    """With the guards off, comparing 9^(9^9) with its value makes SymPy compute a 370-million
    digit power (over a minute); the helper is killed at the deadline."""
    result, seconds = _in_thread(
        math_verify, "\\boxed{9^{387420489}}", "9^{9^{9}}", timeout_s=1.5, precheck=False
    )
    assert (result.correct, result.reason) == (False, "math-verify timed out (deadline 1.5s, waiting for a helper included)")
    assert seconds < 3.0
    # The pool replaces the killed helper: the next answer is graded normally.
    again, _ = _in_thread(math_verify, "\\boxed{4}", "4")
    assert again.correct


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("9^{{9}^{9}}", "huge exponent"),
        ("9^{\\,9^{9}}", "huge exponent"),
        ("9^{\\left(9^{9}\\right)}", "huge exponent"),
        ("{9}^{{9}^{{9}^{9}}}", "huge exponent"),
        ("9^{9\\cdot 9^{9}}", "huge exponent"),
        ("(10!)!", "factorial of a factorial"),
        ("9^{99!}", "huge exponent"),
        ("e^{e^{e^{e^{e}}}}", "huge exponent"),
        ("(x+1)^{9999}", "huge power of a polynomial"),
    ],
)
def test_expensive_shapes_are_rejected_before_parsing(expression, reason):
    result, seconds = _in_thread(math_verify, f"\\boxed{{{expression}}}", "1")
    assert (result.correct, result.reason) == (False, f"rejected before parsing: response: {reason}")
    assert seconds < 1.0


@pytest.mark.parametrize(
    "reasoning",
    ["(2^{10})^2 = 2^{20}", "3^{34} = (3^5)^{6} \\cdot 3^4", "9^{9^{9}} \\text{ has too many digits}", "(x+1)^{9999}"],
)
def test_guards_read_the_answer_not_the_reasoning(reasoning):
    """Big powers in the reasoning are never parsed (math-verify parses the last box): the answer is graded."""
    result, seconds = _in_thread(math_verify, f"Note that ${reasoning}$. Hence \\boxed{{1048576}}.", "1048576")
    assert (result.correct, result.reason) == (True, "equivalent")
    assert seconds < 5.0


def test_bombs_in_what_is_parsed_stay_bounded():
    """A bomb in the answer is rejected before parsing; one math-verify falls back to (the box does not
    parse) is stopped by the deadline."""
    reasoning = "Note that $(2^{10})^2 = 2^{20}$ and $9^{9^{9}}$ is huge. "
    result, seconds = _in_thread(math_verify, reasoning + "Hence \\boxed{9^{9^{9}}}.", "1048576")
    assert (result.correct, result.reason) == (False, "rejected before parsing: response: huge exponent")
    assert seconds < 1.0
    result, seconds = _in_thread(math_verify, "Note that $9^{9^{9}}$ is huge. Hence \\boxed{}.", "1", timeout_s=1.5)
    assert not result.correct and result.reason.startswith("math-verify timed out (deadline 1.5s")
    assert seconds < 3.0


@pytest.mark.parametrize(
    "answer",
    ["e^{x^2}", "x^{3!}", "2^{2024}", "(x+1)^{2}", "10!", "n!!", "e^{i\\pi}", "(1+\\sqrt{5})^{n}", "a^{b^{c}}", "2^{10}-1"],
)
def test_ordinary_answers_pass_the_guards(answer):
    assert reject_reason(f"The answer is \\boxed{{{answer}}}", "response") is None


def test_polynomial_power_guard_matches_its_regex_definition():
    """The guard is a linear rewrite of `[A-Za-z][^()]*\\)\\s*\\^\\s*\\{?\\s*\\d{4,}`, a regex that is
    quadratic on long prose without parentheses (it made grading 2x slower); the two must agree."""
    definition = re.compile(r"[A-Za-z][^()]*\)\s*\^\s*\{?\s*\d{4,}")
    rng = random.Random(0)
    pieces = [*"ab1 ()^{}+-", "^{1234}", ")^{99999}", ") ^ { 1234", "(x", "y)", "\\cdot"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert _polynomial_power(text) == bool(definition.search(text)), text
    prose = "We consider the cases in turn and simplify the expression. " * 200
    assert reject_reason(prose + "\\boxed{(x+1)^{2}}", "response") is None
    assert reject_reason(prose + "\\boxed{(x+1)^{1234}}", "response") == "response: huge power of a polynomial"


def test_deadline_bounds_each_call_however_many_threads_wait():
    """16 runaway calls from 8 threads share 2 helpers: the deadline covers the wait for a helper."""
    timeout_s, times, reasons = 2.0, [], []

    def call() -> None:
        started = time.perf_counter()
        result = math_verify("\\boxed{9^{387420489}}", "9^{9^{9}}", timeout_s=timeout_s, precheck=False, memory_mb=2047)
        times.append(time.perf_counter() - started)
        reasons.append(result.reason)

    # The pool's first start is waited for outside any deadline (warm_up); from then on it is bounded.
    assert math_verify("\\boxed{2}", "2", memory_mb=2047).correct
    threads = [threading.Thread(target=lambda: [call(), call()]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(times) == 16
    assert max(times) < timeout_s + 1.5, sorted(times)
    assert all(reason.startswith(f"math-verify timed out (deadline {timeout_s:g}s") for reason in reasons)
    assert any("waiting for one of 2 busy helpers" in reason for reason in reasons)


def test_helper_printing_a_non_json_line_is_replaced_not_trusted():
    pool = mathverify_pool.HelperPool(1, 2048)
    for helper in pool._idle:
        helper.close()
    fake = object.__new__(mathverify_pool._Helper)
    fake.started, fake.ready = time.monotonic(), False
    fake.proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('ready', flush=True); [print('SymPy says hi', flush=True) for _ in sys.stdin]"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    pool._idle = [fake]
    with pytest.raises(mathverify_pool.NoReply, match="answered something other than a verdict"):
        pool.run({"text": "\\boxed{1}", "gold": "1"}, 5.0)
    assert fake.proc.poll() is not None  # killed, not orphaned
    for helper in pool._idle:
        helper.close()


def test_concurrent_calls_from_many_threads():
    results = []
    threads = [
        threading.Thread(target=lambda i=i: results.append((i, math_verify(f"\\boxed{{{i}/2}}", f"\\frac{{{i}}}{{2}}"))))
        for i in range(1, 9)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(i for i, r in results if r.correct) == list(range(1, 9))


def test_hybrid_uses_dapo_first_then_math_verify():
    assert hybrid("Answer: 204", "204").reason == "answer line matches"
    equivalent = hybrid("\\boxed{0.5}", "\\frac{1}{2}")
    assert (equivalent.correct, equivalent.reason) == (True, "equivalent")
    wrong = hybrid("\\boxed{3}", "4")
    assert not wrong.correct
    assert wrong.reason == "dapo: boxed answer differs; math-verify: not equivalent"


def test_bad_ground_truth():
    assert math_verify("\\boxed{1}", "\\frac{1}{").reason == "rejected before parsing: ground truth: unbalanced braces"
    assert math_verify("\\boxed{1}", 1).reason == "ground truth is not a string (got int)"


@pytest.mark.slow  # starts Ray
def test_inside_a_ray_worker():
    """Ray runs reward functions in worker processes, on non-main threads; both must work."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:

        @ray.remote
        def grade(response: str, answer: str, timeout_s: float) -> tuple[bool, str]:
            result = math_verify(response, answer, timeout_s=timeout_s, precheck=False)
            return result.correct, result.reason

        runaway = grade.remote("\\boxed{9^{387420489}}", "9^{9^{9}}", 1.0)
        fine = grade.remote("\\boxed{0.25}", "\\frac{1}{4}", 30.0)
        (runaway_correct, runaway_reason), verdict = ray.get([runaway, fine], timeout=120)
        # A fresh worker's helpers may still be starting at the deadline: that counts against it too.
        assert not runaway_correct and runaway_reason.startswith("math-verify timed out (deadline 1s, ")
        assert verdict == (True, "equivalent")
    finally:
        ray.shutdown()


def test_forked_child_starts_its_own_helpers():
    """A child forked after the parent used math-verify grades with fresh helpers, not shared pipes."""
    import multiprocessing

    from reward_fns import mathverify_pool, verify

    assert verify.math_verify("\\boxed{\\frac{1}{2}}", "0.5").correct
    assert mathverify_pool._pools

    def child(queue):
        queue.put((len(mathverify_pool._pools), verify.math_verify("\\boxed{\\sqrt{4}}", "2").correct))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    assert queue.get(timeout=60) == (0, True)
    proc.join(timeout=30)


def test_memory_cap_holds_inside_its_block_and_is_lifted_after():
    """An in-process answer (a grading worker's) runs under the cap; the worker's own work after it does not."""
    import resource

    from reward_fns.mathverify_worker import memory_cap

    before = resource.getrlimit(resource.RLIMIT_AS)
    in_use_mb = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize() >> 20
    with memory_cap(in_use_mb + 256):
        with pytest.raises(MemoryError):
            bytearray(512 << 20)
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    assert len(bytearray(512 << 20)) == 512 << 20
