"""Training curves of a run in one PNG, with the plotted data beside it as CSV.

Per-step accuracy of a 256-response batch jumps by several points from noise, so each training curve
is drawn faint with a bold rolling mean on top; thresholds of the health rules are drawn where a rule
watches the plotted metric, and the step where the monitor stops (or would stop) the run is marked.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from justrl.health.history import History  # noqa: E402
from justrl.health.rules import ThresholdRule, build_rules  # noqa: E402

SMOOTH = 10
PANELS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Accuracy and reward (train)", [("justrl/accuracy", "accuracy"), ("justrl/reward/mean", "reward")]),
    (
        "Response length (tokens)",
        [
            ("justrl/response_length/mean", "mean"),
            ("justrl/response_length/p50", "p50"),
            ("justrl/response_length/p95", "p95"),
            ("justrl/response_length/max", "max"),
        ],
    ),
    ("Format (train)", [("justrl/thinking_rate", "thinking rate"), ("justrl/boxed_rate", "boxed rate")]),
    (
        "Repetition (train)",
        [
            ("justrl/redundancy/mean", "redundancy mean"),
            ("justrl/redundancy/p95", "redundancy p95"),
            ("justrl/chunk_similarity/mean", "chunk similarity"),
        ],
    ),
    ("Validation", []),
    (
        "Learning signal (train)",
        [
            ("justrl/zero_signal_groups", "groups with equal rewards"),
            ("justrl/response_length/clip_ratio", "share cut at the cap"),
        ],
    ),
]
VAL_OVERLAYS = {"justrl/accuracy": "justrl/val/accuracy", "justrl/thinking_rate": "justrl/val/thinking_rate"}
_VAL_BENCH = re.compile(r"^justrl/val/(?P<bench>[^/]+)/accuracy$")
_VERL_VAL = re.compile(r"^val-core/(?P<bench>[^/]+)/acc/mean@\d+$")


def series(history: History, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of one metric, over the steps that recorded it."""
    pairs = [(step, m[key]) for step, m in history if key in m]
    if not pairs:
        return np.array([]), np.array([])
    steps, values = zip(*pairs)
    return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)


def rolling_mean(values: np.ndarray, window: int = SMOOTH) -> np.ndarray:
    """Trailing mean, shorter at the start, so the curve begins at the first step."""
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (cumsum[idx] - cumsum[lo]) / (idx - lo)


def validation_keys(history: History) -> dict[str, str]:
    """Benchmark name -> metric key, preferring this project's keys over veRL's `val-core` ones."""
    keys: dict[str, str] = {}
    seen = {k for _, m in history for k in m}
    for pattern in (_VERL_VAL, _VAL_BENCH):
        for key in sorted(seen):
            match = pattern.match(key)
            if match:
                keys[match["bench"]] = key
    return keys


def thresholds(health: Mapping[str, Any] | None) -> dict[str, list[tuple[str, float]]]:
    """Metric -> [(rule name, threshold)] for the single-condition rules of a health config."""
    out: dict[str, list[tuple[str, float]]] = {}
    for rule in build_rules((health or {}).get("rules")):
        if isinstance(rule, ThresholdRule) and len(rule.conditions) == 1:
            cond = rule.conditions[0]
            out.setdefault(cond.metric, []).append((rule.name, cond.threshold))
    return out


def _plot_metric(ax, history: History, key: str, label: str, color) -> bool:
    steps, values = series(history, key)
    if not len(steps):
        return False
    if len(steps) > SMOOTH:
        ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
        ax.plot(steps, rolling_mean(values), color=color, linewidth=1.8, label=f"{label} ({SMOOTH}-step mean)")
    else:
        ax.plot(steps, values, color=color, marker="o", linewidth=1.5, label=label)
    return True


def _draw_panel(ax, history: History, title: str, metrics, limits) -> None:
    drawn = False
    for i, (key, label) in enumerate(metrics):
        color = f"C{i}"
        if not _plot_metric(ax, history, key, label, color):
            continue
        drawn = True
        val_steps, val_values = series(history, VAL_OVERLAYS.get(key, ""))
        if len(val_steps):
            ax.plot(val_steps, val_values, color=color, marker="s", linestyle="--", label=f"validation {label}")
        for rule, value in limits.get(key, []):
            ax.axhline(value, color=color, linestyle=":", linewidth=1.2, label=f"{rule} threshold {value:g}")
    if title.startswith("Response length"):
        caps = series(history, "justrl/response_length/cap")[1]
        if len(caps):
            ax.axhline(caps.max(), color="black", linestyle="-.", linewidth=1.2, label=f"cap {caps.max():g}")
    _finish_panel(ax, title, drawn)


def _draw_validation(ax, history: History) -> None:
    drawn = False
    for i, (bench, key) in enumerate(sorted(validation_keys(history).items())):
        steps, values = series(history, key)
        ax.plot(steps, values, marker="o", color=f"C{i % 10}", label=bench)
        drawn = True
    steps, values = series(history, "justrl/val/accuracy")
    if len(steps):
        ax.plot(steps, values, marker="s", color="black", linewidth=2, label="mean over benchmarks")
        drawn = True
    _finish_panel(ax, "Validation accuracy per benchmark", drawn)


def _finish_panel(ax, title: str, drawn: bool) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=7, loc="best")
    else:
        ax.text(0.5, 0.5, "not recorded in this run", ha="center", va="center", transform=ax.transAxes, color="gray")


def write_csv(history: History, path: Path) -> list[str]:
    """Every numeric metric of the run, one row per step; returns the metric columns."""
    columns = sorted({k for _, m in history for k in m})
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", *columns])
        for step, metrics in history:
            writer.writerow([step, *(metrics.get(c, "") for c in columns)])
    return columns


def plot_run(
    history: History,
    out_png: Path,
    title: str,
    health: Mapping[str, Any] | None = None,
    stop_step: int | None = None,
) -> Path:
    """Draw the six panels to `out_png` and the data to the same name with `.csv`; returns the CSV."""
    limits = thresholds(health)
    fig, axes = plt.subplots(3, 2, figsize=(15, 13))
    first, last = history[0][0], history[-1][0]
    for ax, (panel_title, metrics) in zip(axes.flat, PANELS):
        ax.set_xlim(first - 1, last + 1)
        if panel_title == "Validation":
            _draw_validation(ax, history)
        else:
            _draw_panel(ax, history, panel_title, metrics, limits)
        if stop_step is not None:
            ax.axvline(stop_step, color="red", linewidth=1.5, alpha=0.7)
    suffix = f" - health monitor stops at step {stop_step} (red line)" if stop_step is not None else ""
    fig.suptitle(f"{title}{suffix}", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    out_csv = out_png.with_suffix(".csv")
    write_csv(history, out_csv)
    return out_csv
