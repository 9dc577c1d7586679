import argparse

import torch
from conftest import make_tiny_bert

from run_lora import lora_model, trainable_parameters


def lora_args(**overrides):
    return argparse.Namespace(**{"lora_r": 8, "lora_alpha": 32, "lora_dropout": 0.1,
                                 "target_modules": ["query", "value"], **overrides})  # fmt: skip


def test_trainable_parameters_are_lora_pooler_and_classifier():
    model = lora_model(make_tiny_bert(), lora_args())
    hidden, layers, r, labels = 32, 12, 8, 2
    lora = layers * 2 * (r * hidden + hidden * r)  # A (r x in) and B (out x r) for query and value
    pooler = hidden * hidden + hidden
    classifier = hidden * labels + labels
    counts = trainable_parameters(model)
    assert counts["trainable_parameters"] == lora + pooler + classifier
    base = sum(p.numel() for p in make_tiny_bert().parameters())
    # peft keeps the original pooler and classifier beside their trainable copies (modules_to_save)
    assert counts["total_parameters"] == base + lora + pooler + classifier


def test_merged_logits_equal_unmerged_logits(tokenizer):
    model = lora_model(make_tiny_bert(), lora_args()).eval()
    with torch.no_grad():  # B starts at zero, which would make the merge trivially exact
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    batch = tokenizer(["you stupid idiot", "thanks for the edit"], padding=True, return_tensors="pt")
    with torch.no_grad():
        unmerged = model(**batch).logits
        merged_model = model.merge_and_unload()
        merged = merged_model(**batch).logits
    assert not any("lora" in name for name, _ in merged_model.named_parameters())
    torch.testing.assert_close(merged, unmerged, atol=1e-5, rtol=1e-5)
