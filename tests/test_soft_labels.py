"""Stored soft labels: equal to a live teacher's logits, same loss, refused when they do not match the run."""

import numpy as np
import pytest
import torch
from conftest import make_tiny_bert
from transformers import TrainingArguments

import run_distill
from toxiclf.data.splits import data_provenance, load_splits
from toxiclf.inference.classifier import Classifier
from toxiclf.training.common import added_rows_sha256, with_identity_sentences
from toxiclf.training.distill_trainer import DistillationTrainer
from toxiclf.training.soft_labels import SoftLabels, ensemble_logits, write_soft_labels


def training_rows(distill_args, tokenizer, stored):
    """run_distill.py's training rows for its parsed flags, as its main() loads them."""
    from toxiclf.training.arguments import DataArguments, DistillationArguments, typed
    from toxiclf.training.common import load_training_data

    data, distillation = typed(distill_args, DataArguments, DistillationArguments)
    return load_training_data(data, tokenizer, stored, distillation)


@pytest.fixture
def teacher_dir(tmp_path_factory, tokenizer):
    path = tmp_path_factory.mktemp("soft-teacher")
    make_tiny_bert(num_layers=12, seed=3).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def soft_file(tmp_path, teacher_dir, tiny_dataset_dir):
    splits = load_splits(str(tiny_dataset_dir), 42)
    provenance = data_provenance(str(tiny_dataset_dir), 42, splits)
    splits.pop("test")
    path = tmp_path / "soft.npz"
    write_soft_labels(path, [str(teacher_dir)], splits, provenance, max_length=64, batch_size=16)
    return path, splits, provenance


def test_stored_logits_equal_the_live_teachers(soft_file, teacher_dir):
    path, splits, _ = soft_file
    live = Classifier(teacher_dir, max_length=64).logits(splits["train"]["comment_text"])
    stored = SoftLabels(path).logits_for("train", splits["train"]["id"])
    # one teacher: the ensemble is its log-probabilities, the same softmax
    np.testing.assert_allclose(torch.softmax(torch.tensor(stored), -1), torch.softmax(torch.tensor(live), -1),
                               atol=1e-5)  # fmt: skip


def test_the_ensemble_is_the_normalised_geometric_mean():
    a, b = np.array([[0.0, 2.0]]), np.array([[1.0, -1.0]])
    probabilities = np.exp(ensemble_logits([a, b]))
    p_a, p_b = torch.softmax(torch.tensor(a), -1).numpy(), torch.softmax(torch.tensor(b), -1).numpy()
    expected = np.sqrt(p_a * p_b) / np.sqrt(p_a * p_b).sum()
    np.testing.assert_allclose(probabilities / probabilities.sum(), expected, atol=1e-9)


def test_kl_from_the_file_equals_kl_from_the_live_teacher(tmp_path, tokenizer):
    teacher = make_tiny_bert(seed=5)
    student = make_tiny_bert(num_layers=2, seed=6).train()
    for module in student.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True, max_steps=1)
    trainer = DistillationTrainer(model=student, args=args, teacher=teacher, alpha_ce=0.5, alpha_kl=0.5, alpha_cos=0.0)
    batch = {**tokenizer(["you idiot", "thanks for the page"], padding=True, return_tensors="pt"),
             "labels": torch.tensor([1, 0])}  # fmt: skip
    live = trainer.compute_loss(student, batch)
    with torch.no_grad():
        stored = teacher(**{k: v for k, v in batch.items() if k != "labels"}).logits
    offline = DistillationTrainer(model=student, args=args, teacher=None, alpha_ce=0.5, alpha_kl=0.5, alpha_cos=0.0)
    assert offline.compute_loss(student, {**batch, "teacher_logits": stored}).item() == pytest.approx(live.item())


def test_a_file_for_other_data_or_length_is_refused(soft_file):
    path, _, provenance = soft_file
    soft = SoftLabels(path)
    soft.check_matches(provenance, 64)
    with pytest.raises(ValueError, match="other data .seed"):
        soft.check_matches({**provenance, "seed": 7}, 64)
    with pytest.raises(ValueError, match="--max-seq-length 64, not 128"):
        soft.check_matches(provenance, 128)
    with pytest.raises(ValueError, match="no soft labels for 1 train rows"):
        soft.logits_for("train", ["not-a-row"])


@pytest.mark.slow
def test_distilling_from_stored_labels_runs_without_a_teacher(soft_file, tiny_dataset_dir, tmp_path, monkeypatch):
    path, _, _ = soft_file
    monkeypatch.setattr(run_distill, "load_teacher", lambda p: pytest.fail("no teacher may be loaded"))
    student = tmp_path / "small-student"
    make_tiny_bert(num_layers=2).save_pretrained(student)
    from conftest import make_tokenizer

    make_tokenizer().save_pretrained(student)
    metrics = run_distill.main(["--student-init", str(student), "--soft-labels", str(path), "--alpha-cos", "0",
                                "--dataset", str(tiny_dataset_dir), "--max-seq-length", "64", "--max-train-samples",
                                "64", "--output-dir", str(tmp_path / "out"), "--per-device-train-batch-size", "16",
                                "--num-train-epochs", "1"])  # fmt: skip
    assert metrics["train_samples"] == 64
    with pytest.raises(SystemExit, match="was made with --max-seq-length 64, not 128"):
        run_distill.main(["--student-init", str(student), "--soft-labels", str(path), "--alpha-cos", "0",
                          "--dataset", str(tiny_dataset_dir), "--output-dir", str(tmp_path / "other")])  # fmt: skip


def test_a_compact_file_covers_the_augmentation_rows_a_student_run_adds(tmp_path, teacher_dir, tiny_dataset_dir):
    from toxiclf.training import soft_labels

    path = tmp_path / "compact.npz"
    soft_labels.main(["--teachers", str(teacher_dir), "--dataset", str(tiny_dataset_dir), "--max-seq-length", "64",
                      "--identity-augmentation", "12", "--float16", "--output", str(path), "--no-bf16"])  # fmt: skip
    stored = np.load(path)
    assert stored["train_ensemble"].dtype == np.float16 and "train_teacher0" not in stored
    labels = SoftLabels(path)
    splits = load_splits(str(tiny_dataset_dir), 42)
    recipe = {"identity_augmentation": 12, "robustness_augmentation": 0, "base_rows": len(splits["train"])}
    added = with_identity_sentences(splits["train"], 12, 42)
    recipe["added_rows_sha256"] = added_rows_sha256(added, len(splits["train"]))
    assert labels.provenance["extra_train_rows"] == recipe
    provenance = data_provenance(str(tiny_dataset_dir), 42, splits)
    labels.check_matches(provenance, 64, recipe)
    changed_sentence = added.map(lambda row, i: {"comment_text": row["comment_text"] + "!" if i == len(added) - 1
                                                 else row["comment_text"]}, with_indices=True)  # fmt: skip
    for other in (
        {**recipe, "identity_augmentation": 13},
        {**recipe, "base_rows": 50},  # other sentences, same ids:
        {**recipe, "added_rows_sha256": added_rows_sha256(changed_sentence, len(splits["train"]))},  # a new template
    ):
        with pytest.raises(ValueError, match="was made for other added rows"):
            labels.check_matches(provenance, 64, other)
    identity_ids = [f"identity-{i}" for i in range(12)]
    assert labels.logits_for("train", identity_ids).shape == (12, 2)  # the rows a student with the flag adds
    live = Classifier(teacher_dir, max_length=64).logits(splits["train"]["comment_text"])
    half = labels.logits_for("train", splits["train"]["id"]).astype(np.float32)
    np.testing.assert_allclose(torch.softmax(torch.tensor(half), -1), torch.softmax(torch.tensor(live), -1),
                               atol=2e-3)  # fmt: skip


def test_a_file_made_with_davidson_tweets_serves_a_run_with_the_same_tweets(tmp_path, teacher_dir, tiny_dataset_dir,
                                                                            tokenizer):  # fmt: skip
    import pandas as pd

    from toxiclf.training import soft_labels

    tweets = tmp_path / "labeled_data.csv"
    tweet_texts = ["you are trash", "what a dumb take", "lovely day", "shut up loser"]
    pd.DataFrame({"count": [3] * 4, "class": [0, 1, 2, 1], "tweet": tweet_texts}).to_csv(tweets)
    path = tmp_path / "with-tweets.npz"
    flags = ["--dataset", str(tiny_dataset_dir), "--max-seq-length", "64", "--identity-augmentation", "6",
             "--davidson", str(tweets), "--davidson-samples", "3"]  # fmt: skip
    soft_labels.main(["--teachers", str(teacher_dir), "--output", str(path), "--no-bf16", *flags])
    stored = SoftLabels(path)
    assert stored.logits_for("train", ["davidson-0", "davidson-2", "identity-5"]).shape == (3, 2)

    distill = ["--student-init", "minilm-l6", "--soft-labels", str(path), "--alpha-cos", "0"]
    run = run_distill.parse_args([*distill, *flags])
    train, _, _ = training_rows(run, tokenizer, stored)
    tweets_logits = np.array(train["teacher_logits"][-3:], dtype=np.float32)  # the tweets come last
    np.testing.assert_allclose(tweets_logits, stored.logits_for("train", [f"davidson-{i}" for i in range(3)]))
    other_tweets = run_distill.parse_args([*distill, *flags[:-1], "2"])
    with pytest.raises(SystemExit, match="was made for other added rows"):
        training_rows(other_tweets, tokenizer, stored)


@pytest.mark.parametrize("flags", [["--davidson-samples", "0", "--davidson", "t.csv"], ["--davidson-samples", "3"]])
def test_a_tweet_count_without_tweets_or_below_one_is_refused(flags, capsys):
    from toxiclf.training import soft_labels

    with pytest.raises(SystemExit):
        soft_labels.main(["--teachers", "any", *flags])
    assert "--davidson-samples takes a positive number, with --davidson" in capsys.readouterr().err


def test_added_rows_scored_alone_equal_those_of_a_whole_file_and_mix_into_one(tmp_path, teacher_dir, tiny_dataset_dir):
    from research import soft_label_mix
    from toxiclf.training import soft_labels

    flags = ["--teachers", str(teacher_dir), "--dataset", str(tiny_dataset_dir), "--max-seq-length", "64",
             "--identity-augmentation", "6", "--no-bf16"]  # fmt: skip
    whole, alone, mixed = tmp_path / "whole.npz", tmp_path / "alone.npz", tmp_path / "mixed.npz"
    soft_labels.main([*flags, "--output", str(whole)])
    soft_labels.main([*flags, "--added-rows-only", "--output", str(alone)])
    stored = SoftLabels(alone)
    assert stored.ids["train"].tolist() == [f"identity-{i}" for i in range(6)] and len(stored.ids["validation"]) == 0
    np.testing.assert_allclose(stored.logits["train"], SoftLabels(whole).logits_for("train", stored.ids["train"]),
                               atol=1e-5)  # fmt: skip
    soft_label_mix.main(["--comments", str(whole), "--added-rows", str(alone), "--output", str(mixed)])
    for split in ("train", "validation"):
        np.testing.assert_array_equal(SoftLabels(mixed).ids[split], SoftLabels(whole).ids[split])
        np.testing.assert_allclose(SoftLabels(mixed).logits[split], SoftLabels(whole).logits[split], atol=1e-5)


def test_added_rows_only_without_rows_to_add_is_refused(teacher_dir, tiny_dataset_dir, capsys):
    from toxiclf.training import soft_labels

    with pytest.raises(SystemExit):
        soft_labels.main(["--teachers", str(teacher_dir), "--dataset", str(tiny_dataset_dir), "--added-rows-only"])
    assert "--added-rows-only needs the flags of the rows to add" in capsys.readouterr().err


def test_knowledge_adjustment_swaps_the_logits_of_a_wrong_teacher_on_the_chosen_rows_only():
    from toxiclf.training.losses import adjust_to_labels

    logits = np.array([[2.0, -1.0], [2.0, -1.0], [0.5, 3.0], [-1.0, 4.0], [1.0, 0.0]])
    labels = [1, 1, 0, 1, 0]
    adjusted, changed = adjust_to_labels(logits, labels, range(1, 5))
    # row 0 is wrong but not chosen; rows 1 and 2 are wrong and swapped; rows 3 and 4 agree with their labels
    np.testing.assert_array_equal(adjusted, [[2.0, -1.0], [-1.0, 2.0], [3.0, 0.5], [-1.0, 4.0], [1.0, 0.0]])
    assert changed == 2 and logits[1].tolist() == [2.0, -1.0]  # the stored logits are left as they were


def test_a_run_with_knowledge_adjustment_trains_on_the_swapped_logits(soft_file, tiny_dataset_dir, tokenizer, capsys):
    path, _, _ = soft_file
    flags = ["--student-init", "minilm-l6", "--soft-labels", str(path), "--dataset", str(tiny_dataset_dir),
             "--max-seq-length", "64", "--alpha-cos", "0"]  # fmt: skip
    plain, _, _ = training_rows(run_distill.parse_args(flags), tokenizer, SoftLabels(path))
    adjusted, _, _ = training_rows(run_distill.parse_args([*flags, "--knowledge-adjustment", "all"]), tokenizer,
                                   SoftLabels(path))  # fmt: skip
    before, after = np.array(plain["teacher_logits"]), np.array(adjusted["teacher_logits"])
    labels = np.array(plain["labels"])
    wrong = before.argmax(axis=1) != labels
    assert wrong.any() and (after.argmax(axis=1) == labels).all()
    np.testing.assert_array_equal(after[wrong], before[wrong][:, ::-1])
    np.testing.assert_array_equal(after[~wrong], before[~wrong])
    with pytest.raises(SystemExit):
        run_distill.parse_args([*flags, "--knowledge-adjustment", "added-rows"])
    assert "needs added rows" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_distill.parse_args(["--student-init", "minilm-l6", "--knowledge-adjustment", "all"])
    assert "give --soft-labels" in capsys.readouterr().err
