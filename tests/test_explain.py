"""Word-level explanations: spans and offsets, contributions, the API, the page and the CLI."""

import numpy as np
import pytest

from toxiclf.batch import cli as predict
from toxiclf.inference.explain import explain, top_words, word_spans


class KeywordModel:
    """P(toxic) = 0.9 with 'idiot', 0.5 with 'stupid', 0.1 otherwise: contributions are known exactly."""

    def scores(self, texts, batch_size=None, progress=False):
        return np.array([0.9 if "idiot" in t else 0.5 if "stupid" in t else 0.1 for t in texts])


def test_spans_are_words_with_offsets_into_the_original_text():
    text = "  Hey 👋🏽 you—idiot!! Don't\n\tgo, café ☕"
    spans = word_spans(text)
    assert [text[s:e] for s, e in spans] == ["Hey", "you", "idiot", "Don't", "go", "café"]
    assert word_spans(text, max_words=2) == spans[:2]


def test_contributions_are_the_drop_in_p_toxic_without_each_word():
    [spans] = explain(KeywordModel(), ["you idiot, stop"])
    assert [(s["text"], round(s["score"], 6)) for s in spans] == [("you", 0.0), ("idiot", 0.8), ("stop", 0.0)]
    text = "you idiot, stop"
    assert all(text[s["start"] : s["end"]] == s["text"] for s in spans)
    assert top_words(spans) == "idiot (+0.80)"


def test_the_api_explains_only_when_asked(client):
    plain = client.post("/api/v1/classify", json={"texts": ["you idiot", "thanks"]}).get_json()
    assert all("spans" not in r for r in plain["results"])
    answer = client.post("/api/v1/classify", json={"texts": ["you idiot 👋", "thanks"], "explain": True})
    results = answer.get_json()["results"]
    assert [[s["text"] for s in r["spans"]] for r in results] == [["you", "idiot"], ["thanks"]]
    for text, result in zip(["you idiot 👋", "thanks"], results, strict=True):
        assert all(text[s["start"] : s["end"]] == s["text"] and isinstance(s["score"], float) for s in result["spans"])


@pytest.mark.parametrize(
    "body, status, message",
    [
        (
            {"texts": ["a b c"] * 101, "explain": True},
            413,
            "takes 404 model passes (one per text and one per word); at most 400 per request",
        ),
        ({"text": "word " * 400, "explain": True}, 413, "takes 401 model passes"),
        ({"text": "hi", "explain": "yes"}, 400, "must be true or false"),
    ],
)
def test_explaining_has_its_own_limits(client, body, status, message):
    answer = client.post("/api/v1/classify", json=body)
    assert answer.status_code == status and message in answer.get_json()["error"]["message"]


def test_the_page_highlights_the_words_that_raised_the_score(app):
    app.extensions["toxiclf"].classifier.scores = lambda texts, *a, **k: KeywordModel().scores(texts)
    page = app.test_client().post("/", data={"text": "you are an idiot"}).get_data(as_text=True)
    assert 'id="label"' in page and "<mark" not in page and "explain-note" not in page  # explanations are opt-in
    page = app.test_client().post("/", data={"text": "you are an idiot", "explain": "1"}).get_data(as_text=True)
    assert 'class="push push-4" tabindex="0"' in page and 'data-score="+0.800">idiot</mark>' in page
    assert page.count("<mark") == 1  # only words that pushed the score up


def test_the_cli_adds_the_top_words(tmp_path, tiny_classifier_dir, monkeypatch):
    source = tmp_path / "in.csv"
    source.write_text("comment_text\nyou idiot\n\n")
    output = tmp_path / "out.csv"
    monkeypatch.setattr(
        "toxiclf.inference.classifier.Classifier.scores", lambda self, texts, *a, **k: KeywordModel().scores(texts)
    )
    predict.main(["--input", str(source), "--output", str(output), "--model", str(tiny_classifier_dir),
                  "--backend", "torch", "--explain", "--no-progress"])  # fmt: skip
    import pandas as pd

    scored = pd.read_csv(output, dtype=str, keep_default_na=False)
    assert scored["toxic_top_words"].tolist() == ["idiot (+0.80)", ""]  # the blank line is a row, not explained
    assert scored["toxic_error"].tolist() == ["", "empty text"]


@pytest.mark.slow
def test_the_faithfulness_script_measures_top_against_random_words(tmp_path, tiny_dataset_dir, pipeline_outputs):
    import json
    import subprocess
    import sys

    from toxiclf.paths import REPO_ROOT

    output = tmp_path / "explain.json"
    subprocess.run([sys.executable, "scripts/explain_faithfulness.py", "--model", str(pipeline_outputs[0] / "teacher"),
                    "--backend", "torch", "--dataset", str(tiny_dataset_dir), "--k", "1", "2", "--threshold", "0",
                    "--output", str(output)], cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    result = json.loads(output.read_text())
    assert result["flagged_comments_explained"] > 0 and result["backend"] == "torch"
    assert set(result["comprehensiveness"]) == {"1", "2"}
    one = result["comprehensiveness"]["1"]
    # the top word is the one whose deletion drops P(toxic) most: no random word can drop it more
    assert one["top_k_drop"] >= one["random_k_drop"] - 1e-9
    assert 0 <= result["profanity_list"]["top_word_listed_share"] <= result["profanity_list"]["any_word_listed_share"]


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_offsets_always_slice_back_to_the_word(text):
    [spans] = explain(KeywordModel(), [text])
    assert all(text[s["start"] : s["end"]] == s["text"] and s["text"] for s in spans)
    assert [s["start"] for s in spans] == sorted(s["start"] for s in spans)  # text order


def test_with_a_tiny_model_that_reads_one_token_that_word_comes_first(tiny_classifier_dir):
    import torch

    from toxiclf.inference.classifier import Classifier

    classifier = Classifier(tiny_classifier_dir)
    idiot = classifier.tokenizer.token_to_id("idiot")
    with torch.no_grad():  # the toxic logit reads one embedding dimension that only "idiot" carries
        embeddings = classifier.model.bert.embeddings.word_embeddings.weight
        embeddings[:, 0] = 0.0
        embeddings[idiot, 0] = 50.0
    [spans] = explain(classifier, ["Thanks for the edit, you absolute idiot."])
    assert max(spans, key=lambda s: s["score"])["text"] == "idiot"


def test_a_250_word_comment_is_explained_within_the_pass_budget(app):
    app.extensions["toxiclf"].explaining.deadline_seconds = 120  # the budget is tested here, not this CPU's speed
    answer = app.test_client().post("/api/v1/classify", json={"text": "word " * 250, "explain": True})
    assert answer.status_code == 200 and len(answer.get_json()["results"][0]["spans"]) == 250


def test_the_page_shows_the_verdict_when_the_explanation_is_refused(app):
    page = app.test_client().post("/", data={"text": "word " * 450, "explain": "1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="label"' in html and "<mark" not in html
    assert "No explanation: explaining these texts takes 451 model passes" in html
    explaining = app.extensions["toxiclf"].explaining
    explaining._admitted.acquire()
    explaining._admitted.acquire()  # both explanation places taken
    try:
        html = app.test_client().post("/", data={"text": "you idiot", "explain": "1"}).get_data(as_text=True)
        assert 'id="label"' in html and "No explanation: the server is busy (2 explanation requests running)" in html
        answer = app.test_client().post("/api/v1/classify", json={"text": "you idiot", "explain": True})
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
        assert app.test_client().post("/api/v1/classify", json={"text": "you idiot"}).status_code == 200
    finally:
        explaining._admitted.release()
        explaining._admitted.release()
