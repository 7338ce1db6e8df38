"""The Ray TaskRunner that veRL's `run_ppo` starts: veRL's own TaskRunnerV1 with our trainer loaded.

Ray imports this module inside the TaskRunner's worker process, which registers JustRLTrainer in
veRL's trainer registry there, where `get_trainer_cls` looks it up.
"""

from __future__ import annotations

import ray
from verl.trainer.main_ppo import TaskRunnerV1

import justrl.trainer  # noqa: F401  (registers the `justrl` trainer mode in this process)


class _JustRLTaskRunner(TaskRunnerV1.__ray_actor_class__):
    """veRL's TaskRunnerV1, unchanged; the subclass is where justrl hooks the task level."""


JustRLTaskRunner = ray.remote(num_cpus=1)(_JustRLTaskRunner)
