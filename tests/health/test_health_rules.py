"""Every health rule, the early-stop logic and the packaged rule sets (published thresholds)."""

from __future__ import annotations

import pytest

from justrl.health.config import HealthConfigError, load_health_config
from justrl.health.monitor import EarlyStopConfig, HealthMonitor
from justrl.health.rules import HealthWarning, RuleError, TrendRule, build_rule, build_rules


@pytest.fixture(scope="module")
def justtinker() -> dict:
    return load_health_config("justtinker")


def rule_named(health: dict, name: str):
    return next(r for r in build_rules(health["rules"]) if r.name == name)


# (rule, metrics just past the published threshold, metrics just inside it)
PUBLISHED = [
    ("response_length_high", {"justrl/response_length/mean": 5000.5}, {"justrl/response_length/mean": 5000.0}),
    ("thinking_rate_low", {"justrl/thinking_rate": 0.59}, {"justrl/thinking_rate": 0.60}),
    ("redundancy_high", {"justrl/redundancy/mean": 0.41}, {"justrl/redundancy/mean": 0.40}),
    ("chunk_similarity_high", {"justrl/chunk_similarity/mean": 0.61}, {"justrl/chunk_similarity/mean": 0.60}),
    ("clip_share_high", {"justrl/response_length/clip_ratio": 0.21}, {"justrl/response_length/clip_ratio": 0.20}),
    (
        "suspicious_repetition",
        {"justrl/chunk_similarity/mean": 0.55, "justrl/redundancy/mean": 0.25},
        {"justrl/chunk_similarity/mean": 0.55, "justrl/redundancy/mean": 0.30},
    ),
]


@pytest.mark.parametrize(("name", "firing", "quiet"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_packaged_threshold_rules_fire_past_published_thresholds_only(justtinker, name, firing, quiet):
    rule = rule_named(justtinker, name)
    warning = rule.check(42, firing, [])
    assert isinstance(warning, HealthWarning)
    assert warning.step == 42 and warning.rule == name
    assert warning.line.startswith(f"[justrl health] WARNING step 42: {name}: ")
    assert rule.check(42, quiet, []) is False


def test_warning_line_names_metric_value_threshold_and_step(justtinker):
    warning = rule_named(justtinker, "thinking_rate_low").check(137, {"justrl/thinking_rate": 0.5625}, [])
    assert warning.line == (
        "[justrl health] WARNING step 137: thinking_rate_low: justrl/thinking_rate = 0.5625 < threshold 0.6"
    )


def test_suspicious_rule_needs_both_conditions(justtinker):
    rule = rule_named(justtinker, "suspicious_repetition")
    assert rule.check(1, {"justrl/chunk_similarity/mean": 0.45, "justrl/redundancy/mean": 0.2}, []) is False
    line = rule.check(1, {"justrl/chunk_similarity/mean": 0.7, "justrl/redundancy/mean": 0.2}, []).line
    assert "justrl/chunk_similarity/mean = 0.7 > threshold 0.5 and justrl/redundancy/mean = 0.2 < threshold 0.3" in line


def test_rule_without_its_metric_is_undecided(justtinker):
    assert rule_named(justtinker, "redundancy_high").check(3, {"justrl/accuracy": 0.5}, []) is None
    assert rule_named(justtinker, "suspicious_repetition").check(3, {"justrl/redundancy/mean": 0.1}, []) is None


def _trend_run(lengths, accs):
    return [{"justrl/response_length/mean": n, "justrl/accuracy": a} for n, a in zip(lengths, accs)]


def test_trend_rule_compares_window_means(justtinker):
    rule = rule_named(justtinker, "length_up_accuracy_down")
    assert isinstance(rule, TrendRule) and rule.window == 20
    rows = _trend_run([4000] * 20 + [4400] * 20, [0.80] * 20 + [0.74] * 20)
    warning = rule.check(40, rows[-1], rows[:-1])
    assert isinstance(warning, HealthWarning)
    assert "rose 10.0%" in warning.line and "fell 0.060" in warning.line
    # One step short of two full windows: no verdict yet.
    assert rule.check(39, rows[-1], rows[1:-1]) is False
    # Longer answers with *rising* accuracy are healthy RL, not a warning.
    rising = _trend_run([4000] * 20 + [4400] * 20, [0.74] * 20 + [0.80] * 20)
    assert rule.check(40, rising[-1], rising[:-1]) is False
    # Accuracy down 4 points is under the 5-point threshold.
    small = _trend_run([4000] * 20 + [4400] * 20, [0.80] * 20 + [0.76] * 20)
    assert rule.check(40, small[-1], small[:-1]) is False


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"metric": "m", "op": "=>", "threshold": 1}, "op '=>' is not one of"),
        ({"metric": "m", "op": ">"}, "expected metric, op and a numeric threshold"),
        ({"metric": "m", "op": ">", "threshold": "high"}, "expected metric, op and a numeric threshold"),
        ({"trend": {"rising": "a", "falling": "b"}}, "trend needs rising, falling, window"),
        ("5000", "expected a mapping"),
    ],
)
def test_bad_rule_specs_name_the_rule(spec, message):
    with pytest.raises(RuleError, match=message) as info:
        build_rule("my_rule", spec)
    assert "'my_rule'" in str(info.value)


def test_null_rule_is_switched_off(justtinker):
    names = [r.name for r in build_rules({**justtinker["rules"], "redundancy_high": None})]
    assert "redundancy_high" not in names and "thinking_rate_low" in names


def test_early_stop_rules_must_exist(justtinker):
    with pytest.raises(RuleError, match=r"unknown rules \['no_such_rule'\]"):
        HealthMonitor.from_config({**justtinker, "early_stop": {"enabled": True, "rules": ["no_such_rule"]}})
    with pytest.raises(RuleError, match=r"unknown keys \['patiance'\]"):
        EarlyStopConfig.from_mapping({"patiance": 3})


def monitor(justtinker, **early) -> HealthMonitor:
    return HealthMonitor.from_config({**justtinker, "early_stop": {**justtinker["early_stop"], **early}})


def test_validation_drop_stops_after_three_consecutive_drops(justtinker):
    mon = monitor(justtinker)
    vals = [(0, 0.70), (10, 0.80), (20, 0.75), (30, 0.76), (40, 0.74), (50, 0.75)]
    stops = [mon.observe(step, {"justrl/val/accuracy": v}).stop for step, v in vals]
    # 0.75 is exactly 5 points under the best 0.80 and counts; 0.76 is not a drop and resets.
    assert stops == [None] * 6 and mon.val_drop_streak == 2
    final = mon.observe(60, {"justrl/val/accuracy": 0.70}).stop
    assert final.step == 60
    assert final.reason == (
        "justrl/val/accuracy stayed at least 0.050 below its best 0.800 (step 10) for 3 consecutive "
        "validations: 0.740 (step 40), 0.750 (step 50), 0.700 (step 60)"
    )
    assert mon.health_metrics()["justrl/health/stopped"] == 1.0


def test_validation_counted_once_per_step(justtinker):
    mon = monitor(justtinker)
    mon.observe(0, {"justrl/val/accuracy": 0.8})
    for _ in range(3):
        assert mon.observe(10, {"justrl/val/accuracy": 0.7}).stop is None
    assert mon.val_drop_streak == 1


def test_health_rules_stop_after_patience_consecutive_steps(justtinker):
    mon = monitor(justtinker)
    bad = {"justrl/thinking_rate": 0.5}
    good = {"justrl/thinking_rate": 0.8}
    assert mon.observe(1, bad).stop is None
    assert mon.observe(2, bad).stop is None
    assert mon.observe(3, good).stop is None  # a healthy step resets the streak
    assert mon.observe(4, bad).stop is None
    assert mon.observe(5, {"justrl/val/accuracy": 0.8}).stop is None  # no train metrics: neither
    assert mon.observe(6, {"justrl/response_length/mean": 5200.0, **bad}).stop is None
    stop = mon.observe(7, {"justrl/response_length/clip_ratio": 0.3}).stop
    assert stop.step == 7
    assert stop.reason == "health rules fired on 3 consecutive steps (now: clip_share_high)"
    assert stop.line == f"[justrl health] EARLY STOP at step 7: {stop.reason}"


def test_warning_only_rules_never_stop(justtinker):
    mon = monitor(justtinker)
    for step in range(1, 20):
        obs = mon.observe(step, {"justrl/redundancy/mean": 0.5})
        assert [w.rule for w in obs.warnings] == ["redundancy_high"] and obs.stop is None


def test_disabled_early_stop_warns_but_never_stops(justtinker):
    mon = monitor(justtinker, enabled=False)
    for step in range(1, 10):
        obs = mon.observe(step, {"justrl/thinking_rate": 0.1, "justrl/val/accuracy": 0.9 - step / 10})
        assert obs.warnings and obs.stop is None
    assert mon.unhealthy_streak == 9 and mon.val_drop_streak >= 3


def test_state_round_trip_keeps_best_validation_not_streaks(justtinker):
    mon = monitor(justtinker)
    for step, v in [(10, 0.8), (20, 0.7), (30, 0.7)]:
        mon.observe(step, {"justrl/val/accuracy": v})
    resumed = monitor(justtinker)
    resumed.load_state_dict(mon.state_dict())
    assert resumed.best_val == (10, 0.8) and resumed.val_drop_streak == 0
    assert resumed.observe(40, {"justrl/val/accuracy": 0.7}).stop is None
    assert resumed.val_drop_streak == 1


def test_packaged_rule_sets_differ_only_in_early_stopping(justtinker):
    justrl = load_health_config("justrl")
    assert justtinker["early_stop"]["enabled"] is True and justrl["early_stop"]["enabled"] is False
    assert justrl["rules"] == justtinker["rules"]
    assert {k: v for k, v in justrl["early_stop"].items() if k != "enabled"} == {
        k: v for k, v in justtinker["early_stop"].items() if k != "enabled"
    }
    stop = justtinker["early_stop"]
    assert (stop["val_drop"], stop["val_patience"], stop["val_metric"]) == (0.05, 3, "justrl/val/accuracy")


def test_rule_set_overrides_and_errors(tmp_path):
    health = load_health_config("justtinker", ["early_stop.patience=5", "rules.redundancy_high=null"])
    assert health["early_stop"]["patience"] == 5 and health["rules"]["redundancy_high"] is None
    with pytest.raises(HealthConfigError, match="expected one of justrl, justtinker or a .yaml file"):
        load_health_config("justtinkr")
    custom = tmp_path / "mine.yaml"
    custom.write_text("justrl:\n  health:\n    rules:\n      low: {metric: justrl/accuracy, op: '<', threshold: 0.3}\n")
    assert load_health_config(str(custom))["rules"]["low"]["threshold"] == 0.3
    bad = tmp_path / "bad.yaml"
    bad.write_text("other: 1\n")
    with pytest.raises(HealthConfigError, match="has no `justrl.health` mapping"):
        load_health_config(str(bad))
