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
