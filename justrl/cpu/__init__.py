"""veRL on a CPU: the backend that lets the real trainer run where there is no GPU.

What it is for: trying a recipe on a laptop, CI, and debugging a hook or a checkpoint in a live
veRL loop. What it is not for: speed (a 2-layer model, gloo collectives, transformers generation).

Four small pieces, each on one of veRL's extension points:
- `platform`: a veRL platform for device `cpu`, loaded through the `verl.plugins` entry point;
- `torch_cpu`: the `torch.<device>` namespace veRL calls on that platform;
- `rollout`: a rollout replica whose server generates with transformers, registered in veRL's
  rollout registries;
- `worker`: the actor worker veRL builds on CPU (gloo process group, FSDP engine for `cpu`).
`launch` is what justrl-train does before Ray starts when the config says `trainer.device=cpu`.
"""
