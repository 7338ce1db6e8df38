"""JustRLTrainer: veRL's synchronous v1 PPO trainer, extended only through its hooks.

Registered with veRL's own trainer registry as `justrl` (the recipes set
`trainer.v1.trainer_mode=justrl`), so veRL's TaskRunner builds it without any fork of veRL code.
"""

from __future__ import annotations

import contextlib

from omegaconf import DictConfig, OmegaConf, open_dict
from verl.trainer.ppo.v1 import PPOTrainerSync, register_trainer

from justrl import checkpoints
from justrl.cpu.launch import is_cpu_run
from justrl.health.trainer_wiring import build_health_callback
from justrl.justtinker_advantage import add_step_metrics as add_advantage_metrics
from justrl.loop_control import honour_save_request
from justrl.reward_log import after_compute_metrics as add_reward_term_metrics
from justrl.run_length import save_last_step

TRAINER_NAME = "justrl"


@register_trainer(TRAINER_NAME)
class JustRLTrainer(PPOTrainerSync):
    """The JustRL training loop is veRL's synchronous loop; justrl adds monitoring on its hooks."""

    def __init__(self, config: DictConfig):
        # veRL selects its sampler and checkpoint behaviour by the literal mode name "sync";
        # this trainer is that mode, so it presents itself as such to the base class.
        with open_dict(config):
            config.trainer.v1.trainer_mode = "sync"
        if is_cpu_run(config):
            import justrl.cpu.rollout  # noqa: F401  (registers rollout.name=justrl_cpu in this process)
        super().__init__(config)
        self.health_callback = build_health_callback(self.config)

    def _init_resource_pool_mgr(self):
        super()._init_resource_pool_mgr()
        if is_cpu_run(self.config):
            from justrl.cpu.worker import use_cpu_workers

            use_cpu_workers(self.role_worker_mapping)

    def _build_replay_buffer(self):
        # veRL's sync replay buffer looks for finished rollouts every 2 s (a constructor default no
        # config key reaches): nothing next to a GPU step, but most of a CPU step. cluster=cpu sets
        # justrl.replay_poll_interval_s.
        buffer = super()._build_replay_buffer()
        poll = OmegaConf.select(self.config, "justrl.replay_poll_interval_s")
        if poll is not None:
            buffer.poll_interval = float(poll)
        return buffer

    def on_step_end(self):
        super().on_step_end()
        honour_save_request(self)

    def _compute_advantage(self, batch, metrics):
        batch = super()._compute_advantage(batch, metrics)
        add_advantage_metrics(self, batch, metrics)  # algorithm.adv_estimator=justtinker only
        return batch

    # --- training health (justrl.health): each override runs veRL's method, then the monitor ---

    def _compute_metrics(self, batch, metrics, timing_raw, global_steps, epoch):
        super()._compute_metrics(batch, metrics, timing_raw, global_steps, epoch)
        add_reward_term_metrics(self, batch, metrics, global_steps)
        self.health_callback.after_compute_metrics(self, batch, metrics, global_steps)

    def _val_metrics_update(self, data_sources, sample_uids, reward_extra_infos_dict, sample_turns, **kwargs):
        metrics = super()._val_metrics_update(data_sources, sample_uids, reward_extra_infos_dict, sample_turns, **kwargs)
        self.health_callback.add_validation_metrics(self, data_sources, reward_extra_infos_dict, metrics)
        return metrics

    # --- checkpoints (justrl.checkpoints): a marker written last says a save is complete, and a run
    # resumes from the newest complete checkpoint, whatever veRL's tracker says ---

    def _save_checkpoint(self):
        super()._save_checkpoint()
        self.health_callback.after_save_checkpoint(self)
        checkpoints.mark_complete(self.config.trainer.default_local_dir, self.global_steps)
        checkpoints.note_saved_step(self, self.global_steps)

    def _load_checkpoint(self):
        plan = checkpoints.planned_resume(self.config)
        with checkpoints.resume_from(self.config, plan) if plan is not None else contextlib.nullcontext():
            super()._load_checkpoint()
            self.health_callback.after_load_checkpoint(self)
        checkpoints.note_saved_step(self, self.global_steps)

    def on_train_begin(self):
        super().on_train_begin()
        self.health_callback.on_train_begin(self)

    def on_train_end(self):
        save_last_step(self, checkpoints.last_saved_step(self))  # the loop ended on the data (justrl.run_length)
        super().on_train_end()
        self.health_callback.on_train_end(self)
