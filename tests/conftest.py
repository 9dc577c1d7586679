"""Shared fixtures: a tiny random BERT with an offline tokenizer, and a tiny toxic-comment data set."""

import json
import random
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # the scripts and distill_trainer.py live at the root

from toxiclf.data.splits import ID2LABEL, LABEL2ID  # noqa: E402

TOXIC_WORDS = ["idiot", "stupid", "hate", "moron", "loser", "shut", "dumb", "ugly"]
CLEAN_WORDS = ["thanks", "article", "edit", "source", "please", "page", "good", "help", "citation", "talk"]
FILLER = ["the", "you", "this", "is", "a", "and", "your", "i", "my", "of", "to", "it"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = SPECIAL + sorted(set(TOXIC_WORDS + CLEAN_WORDS + FILLER)) + list("abcdefghijklmnopqrstuvwxyz!?.,")


def make_tokenizer():
    """A WordPiece tokenizer over VOCAB, built offline (no files fetched)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(VOCAB)}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=50))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
        model_input_names=["input_ids", "attention_mask"],
    )


def make_tiny_bert(num_layers=12, seed=0, labelled=True):
    """A random BertForSequenceClassification small enough to train in seconds."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
        **({"id2label": ID2LABEL, "label2id": LABEL2ID} if labelled else {"num_labels": 2}),
    )
    torch.manual_seed(seed)
    return BertForSequenceClassification(config).eval()


def make_comments(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic comments: ~20 % toxic, each toxic one carrying a toxic word. Texts are unique."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        toxic = rng.random() < 0.2
        words = rng.sample(FILLER, rng.randint(2, 6)) + rng.sample(TOXIC_WORDS if toxic else CLEAN_WORDS, 2)
        rng.shuffle(words)
        rows.append({"id": f"c{i}", "comment_text": " ".join(words) + f" {i}", "label": int(toxic)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer):
    """A saved 12-layer tiny BERT plus tokenizer: a stand-in for the pre-trained teacher."""
    path = tmp_path_factory.mktemp("tiny-bert")
    make_tiny_bert(labelled=False).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory):
    """A local data set in the wiki_toxic schema: one CSV that load_splits splits 70/10/20."""
    path = tmp_path_factory.mktemp("tiny-data")
    make_comments(200).to_csv(path / "comments.csv", index=False)
    return path


@pytest.fixture
def tiny_teacher():
    return make_tiny_bert()


@pytest.fixture(scope="session")
def pipeline_outputs(tmp_path_factory, tiny_model_dir, tiny_dataset_dir):
    """The smoke pipeline on the tiny model: teacher, odd and even students, LoRA. Returns (folder, metrics)."""
    import run_distill
    import run_finetune
    import run_lora

    out = tmp_path_factory.mktemp("outputs")
    common = ["--dataset", str(tiny_dataset_dir), "--max-train-samples", "64", "--max-eval-samples", "20",
              "--per-device-train-batch-size", "16", "--logging-steps", "2"]  # fmt: skip
    metrics = {
        "teacher": run_finetune.main(
            [
                "--model",
                str(tiny_model_dir),
                "--output-dir",
                str(out / "teacher"),
                "--learning-rate",
                "1e-3",
                "--num-train-epochs",
                "4",
                *common,
            ]
        ),  # fmt: skip
    }
    for layers in ("odd", "even"):
        metrics[f"student-{layers}"] = run_distill.main(
            ["--teacher", str(out / "teacher"), "--layers", layers, "--output-dir", str(out / f"student-{layers}"),
             "--learning-rate", "1e-3", *common])  # fmt: skip
    metrics["lora"] = run_lora.main(["--model", str(tiny_model_dir), "--output-dir", str(out / "lora"), *common])
    return out, metrics


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory, tokenizer):
    """A saved tiny classifier with our labels, as a served model folder."""
    path = tmp_path_factory.mktemp("tiny-classifier")
    make_tiny_bert(num_layers=2).save_pretrained(path)
    tokenizer.save_pretrained(path)
    write_thresholds(path)
    return path


def write_thresholds(model_dir, threshold=0.5, backends=("torch", "onnx-int8")):
    """The threshold file a served folder needs (shipping writes the validation's); 0.5 for every backend."""
    thresholds = {backend: {"threshold": threshold} for backend in backends}
    (model_dir / "threshold.json").write_text(json.dumps({"thresholds": thresholds}))


@pytest.fixture
def app(tiny_classifier_dir):
    from app import create_app

    return create_app({"TESTING": True, "MODEL_DIR": str(tiny_classifier_dir), "BACKEND": "torch"})


@pytest.fixture
def client(app):
    return app.test_client()


def serve_in_thread(app, threads: int = 8):
    """`app` behind the production server (app.serve.make_server: waitress as configured for production) on a free
    loopback port, in this process; returns (base URL, stop)."""
    from app.serve import make_server

    server, _ = make_server(app, "127.0.0.1", 0, threads)
    threading.Thread(target=server.run, daemon=True).start()

    def stop():
        server.close()  # the listener; the loop thread ends with its last connection
        server.task_dispatcher.shutdown()

    return f"http://127.0.0.1:{server.effective_port}", stop


@pytest.fixture
def live_server(app):
    """The `app` fixture's app served by waitress on loopback: its base URL."""
    url, stop = serve_in_thread(app)
    yield url
    stop()


def pytest_collection_modifyitems(config, items):
    """Tests that need the tiny training pipeline (`pipeline_outputs`: a teacher, two students and LoRA trained
    first) are end-to-end runs: marked slow, so `make test-fast` leaves them to `make test`. Under pytest-xdist
    (`make test` runs `-n auto --dist loadgroup`) the Ray tests run on one worker: one local cluster at a time on a
    2-core machine. (The embedded teacher's one-time conversion is guarded by a file lock.)"""
    for item in items:
        if "pipeline_outputs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
        if item.path.name == "test_distributed.py":
            item.add_marker(pytest.mark.xdist_group("ray"))
