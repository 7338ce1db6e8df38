"""LoRA on every justrl path, through veRL's own keys (`model.lora_rank`, `lora_alpha`,
`target_modules`, `lora_adapter_path`; `model.lora.merge` for the weight sync).

veRL builds the PEFT model, trains and checkpoints it, and syncs base + adapter to its rollout;
this package adds only what veRL lacks: the output head as a target (`justrl.lora.train_unembed`,
`targets`), one-line refusals before a job starts (`checks`), and a merged or base + adapter model
for evaluation (`merge`). The CPU rollout server takes the adapter in `justrl.cpu.rollout`.
"""
