"""Tiny stand-ins for hub models, built in-process: neither the tests nor a laptop run download anything.

The tokenizer is a real byte-level BPE trained on a little math text, with Qwen's ChatML
special tokens and a ChatML chat template; the model is a randomly initialised Qwen2 with the
same vocabulary. Both are saved as ordinary Hugging Face directories, so every loading path in
the project (local paths) is exercised for real.
"""

from __future__ import annotations

from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen3 and DeepSeek-R1-Distill add these as ordinary (non-special) tokens, so they survive veRL's
# decode(skip_special_tokens=True); the stand-in must behave the same.
THINK_TOKENS = ["<think>", "</think>"]

_CORPUS = [
    "Let x be a real number such that x^2 - 5x + 6 = 0. Find the sum of all possible x.",
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "<think>We factor (x-2)(x-3)=0 so x=2 or x=3, and the sum is 5.</think>",
    "The answer is \\boxed{5}. Answer: 42. \\frac{1}{2} \\sqrt{3} \\pi 0123456789",
    "Every morning Aya goes for a walk and stops at a coffee shop afterwards.",
    "user assistant system Solve the following math problem step by step.",
]


def build_tokenizer(out_dir: Path, vocab_size: int = 600, corpus: list[str] | None = None) -> Path:
    """Train a byte-level BPE tokenizer with ChatML tokens and save it as a HF tokenizer dir.

    `corpus` adds text of the task the model will see, so its phrases become few tokens.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator((_CORPUS + (corpus or [])) * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        additional_special_tokens=["<|im_start|>"],
    )
    fast.add_tokens(THINK_TOKENS, special_tokens=False)
    fast.chat_template = CHATML_TEMPLATE
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out_dir)
    return out_dir


def build_model(out_dir: Path, max_position_embeddings: int = 32768, head_dim: int = 16, eos_scale: float = 1.0) -> Path:
    """Save a randomly initialised two-layer Qwen2 model (4 heads of `head_dim`) beside its
    tokenizer in out_dir; vLLM's CPU attention needs head_dim >= 32.

    A random model almost never ends its answer; scaling the EOS token's (tied) embedding row by
    `eos_scale` raises its logit, so that some completions stop and others run to the token cap.
    """
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    if not (out_dir / "tokenizer_config.json").exists():
        build_tokenizer(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=4 * head_dim,
        intermediate_size=8 * head_dim,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    with torch.no_grad():
        model.get_input_embeddings().weight[tokenizer.eos_token_id] *= eos_scale
    model.save_pretrained(out_dir)
    return out_dir
