from transformers import AutoConfig, AutoTokenizer


def test_tiny_tokenizer_renders_chatml(tiny_tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    text = tok.apply_chat_template([{"role": "user", "content": "1+1?"}], tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n"
    ids = tok.encode("<think>x</think>")
    assert tok.decode(ids) == "<think>x</think>"


def test_tiny_model_config_is_readable(tiny_model_dir):
    cfg = AutoConfig.from_pretrained(tiny_model_dir)
    assert cfg.model_type == "qwen2"
    assert cfg.max_position_embeddings == 32768


def test_think_tags_survive_decoding_without_special_tokens(tiny_tokenizer_dir):
    """veRL decodes responses with skip_special_tokens=True; like Qwen3's, our <think> must stay."""
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    ids = tok.encode("<think>x</think> \\boxed{2}<|im_end|>")
    assert tok.convert_ids_to_tokens(ids)[0] == "<think>"
    assert tok.decode(ids, skip_special_tokens=True) == "<think>x</think> \\boxed{2}"
