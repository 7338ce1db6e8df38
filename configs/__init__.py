"""Hydra config groups layered on veRL's ppo_trainer (installed as justrl.configs so Hydra finds them with pkg://)."""
