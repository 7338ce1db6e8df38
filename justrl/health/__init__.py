"""Training health: per-step reasoning metrics, warning rules, early stopping, replay and plots.

JustTinker's first RL run collapsed into repetitive, length-capped answers and nobody noticed until it
was over. Everything here is plain Python fed metric dicts, so the same logic runs inside the veRL
trainer (see `trainer_hooks`), over a recorded run (`justrl-monitor replay`) and in tests.
"""
