"""Every reward term by name in each step's metrics, and a per-sample reward table every N steps.

The adapter reports each term's weighted contribution as ``term/<name>`` in its dict, which veRL
stores per rollout in TransferQueue (``extra_fields["reward_extra_info"]``) but reduces into no
training metric (veRL 0.9.1 only turns reward_extra_info into metrics in validation, as
``val-aux/...``). So, once a step, after veRL's metrics: ``justrl/term/<name>/mean`` (the term's mean
contribution) and ``justrl/term/<name>/changed`` (the share of samples whose reward it changed)
join the step's metrics, which every configured logger (the metrics file, W&B) receives; every
``justrl.reward_table.every_n_steps`` steps the step's samples go to
``<trainer.default_local_dir>/reward_tables/step_<N>.jsonl``: data source, the response's tail,
each term, the total (as tinker-cookbook's logs show each sample's reward).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from reward_fns.adapter import EXCERPT_KEY, TERM_KEY
from reward_fns.spec import BASE

PREFIX = "justrl/term/"
TABLE_DIR = "reward_tables"
FIELDS = ["extra_fields", "data_source"]


def term_metrics(infos: Sequence[Mapping[str, object]]) -> dict[str, float]:
    """Each term's mean contribution and, for the shaping terms, the share of samples it changed."""
    names = list(dict.fromkeys(key for info in infos for key in info if key.startswith(TERM_KEY)))
    found = {}
    for key in names:
        values = [float(info[key]) for info in infos if info.get(key) is not None]
        if not values:
            continue
        name = key.removeprefix(TERM_KEY)
        found[f"{PREFIX}{name}/mean"] = sum(values) / len(values)
        if name != BASE:
            found[f"{PREFIX}{name}/changed"] = sum(value != 0.0 for value in values) / len(values)
    return found


def table_rows(infos: Sequence[Mapping[str, object]], sources: Sequence[object]) -> list[dict[str, object]]:
    """One row a sample: where it came from, its response's tail, each term, the total reward."""
    rows = []
    for info, source in zip(infos, sources, strict=True):
        row: dict[str, object] = {"data_source": str(source), "response": info.get(EXCERPT_KEY, "")}
        row.update({key.removeprefix(TERM_KEY): info[key] for key in info if key.startswith(TERM_KEY)})
        row["total"] = info.get("score")
        rows.append(row)
    return rows


def write_table(run_dir: str | Path, step: int, rows: Sequence[Mapping[str, object]]) -> Path:
    path = Path(run_dir) / TABLE_DIR / f"step_{step}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def _as_list(values: Any) -> list:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def after_compute_metrics(trainer: Any, batch: Any, metrics: dict, global_steps: int) -> None:
    """Add the step's per-term metrics from TransferQueue; write the reward table on every N-th step."""
    import transfer_queue as tq

    data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=FIELDS)
    keep = [i for i, tag in enumerate(batch.tags) if not tag.get("is_padding", False)]
    extra, sources = _as_list(data["extra_fields"]), _as_list(data["data_source"])
    infos = [(extra[i] or {}).get("reward_extra_info") or {} for i in keep]
    metrics.update(term_metrics(infos))
    every = OmegaConf.select(trainer.config, "justrl.reward_table.every_n_steps", default=0) or 0
    if every > 0 and global_steps % every == 0:
        write_table(trainer.config.trainer.default_local_dir, global_steps, table_rows(infos, [sources[i] for i in keep]))
