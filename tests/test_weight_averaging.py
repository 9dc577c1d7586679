"""Weight-space interpolation: the end points are the two models, the middle is the mean, mismatches refused."""

import json
import re

import pytest
import torch
from conftest import make_tiny_bert
from safetensors.torch import load_file

from research.weight_averaging import average_folders, interpolate, main


def test_interpolation_is_linear_per_tensor_and_refuses_other_models():
    base, tuned = {"w": torch.zeros(2, 2), "b": torch.ones(2)}, {"w": torch.full((2, 2), 4.0), "b": torch.zeros(2)}
    mixed = interpolate(base, tuned, 0.25)
    assert torch.equal(mixed["w"], torch.full((2, 2), 1.0)) and torch.equal(mixed["b"], torch.full((2,), 0.75))
    with pytest.raises(ValueError, match="different tensors"):
        interpolate(base, {"w": tuned["w"]}, 0.5)
    with pytest.raises(ValueError, match="has shape"):
        interpolate(base, {**tuned, "b": torch.zeros(3)}, 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        interpolate(base, tuned, 1.5)


def test_averaged_folder_holds_the_mean_weights_and_says_what_was_averaged(tmp_path, tokenizer):
    for name, seed in (("base", 0), ("tuned", 1)):
        make_tiny_bert(num_layers=2, seed=seed).save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
    (tmp_path / "tuned" / "run_config.json").write_text(json.dumps({"method": "full fine-tune"}))
    average_folders(tmp_path / "base", tmp_path / "tuned", 0.5, tmp_path / "mixed")
    base, tuned = (
        load_file(tmp_path / "base" / "model.safetensors"),
        load_file(tmp_path / "tuned" / "model.safetensors"),
    )
    mixed = load_file(tmp_path / "mixed" / "model.safetensors")
    for name, tensor in mixed.items():
        torch.testing.assert_close(tensor, (base[name] + tuned[name]) / 2)
    record = json.loads((tmp_path / "mixed" / "run_config.json").read_text())
    assert record["method"] == "full fine-tune" and record["weight_averaging"]["alpha"] == 0.5
    assert len(record["weight_averaging"]["base_sha256"]) == 64


def test_only_the_matching_tensors_are_mixed_and_a_pattern_matching_none_is_refused():
    base, tuned = {"w": torch.zeros(2), "b": torch.zeros(2)}, {"w": torch.ones(2), "b": torch.ones(2)}
    mixed = interpolate(base, tuned, 0.75, re.compile("^b$"))
    assert torch.equal(mixed["b"], torch.full((2,), 0.75)) and torch.equal(mixed["w"], torch.ones(2))
    with pytest.raises(ValueError, match="matches no tensor"):
        interpolate(base, tuned, 0.5, re.compile("layer"))


def test_the_command_records_the_pattern_and_refuses_a_broken_one(tmp_path, tokenizer):
    for name, seed in (("base", 0), ("tuned", 1)):
        make_tiny_bert(num_layers=2, seed=seed).save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
    (tmp_path / "tuned" / "run_config.json").write_text(json.dumps({"method": "full fine-tune"}))
    folders = ["--base", str(tmp_path / "base"), "--tuned", str(tmp_path / "tuned"), "--alpha", "0.8"]
    main([*folders, "--output", str(tmp_path / "lower"), "--only", r"embeddings|layer\.0\."])
    base, tuned, mixed = (load_file(tmp_path / name / "model.safetensors") for name in ("base", "tuned", "lower"))
    name_low, name_high = "bert.encoder.layer.0.output.dense.weight", "bert.encoder.layer.1.output.dense.weight"
    torch.testing.assert_close(mixed[name_low], 0.2 * base[name_low] + 0.8 * tuned[name_low])
    assert torch.equal(mixed[name_high], tuned[name_high])
    record = json.loads((tmp_path / "lower" / "run_config.json").read_text())
    assert record["weight_averaging"]["only"] == r"embeddings|layer\.0\."
    with pytest.raises(SystemExit, match="error: "):
        main([*folders, "--output", str(tmp_path / "broken"), "--only", "layer\\.("])
    assert not (tmp_path / "broken").exists()
