import json
import re

import pytest
from conftest import write_thresholds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from toxiclf.inference.classifier import Classifier


def test_page_shows_the_form_and_model(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<textarea id="text" name="text"' in html and 'id="model-name"' in html


def test_page_classifies_and_keeps_the_text(client, app):
    answer = client.post("/", data={"text": "you stupid idiot"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert ">you stupid idiot</textarea>" in html
    expected = app.extensions["toxiclf"].classifier.predict(["you stupid idiot"])[0]
    assert f'<span id="score">{expected["score"]:.3f}</span>' in html
    assert f'id="label">{expected["label"]}</p>' in html


def test_page_escapes_user_text(client):
    html = client.post("/", data={"text": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_page_explains_an_empty_comment(client):
    answer = client.post("/", data={"text": "   "})
    assert answer.status_code == 400
    assert "The comment is empty." in answer.get_data(as_text=True)


def test_api_scores_one_text(client, app):
    answer = client.post("/api/v1/classify", json={"text": "thanks for the edit"})
    assert answer.status_code == 200
    body = answer.get_json()
    classifier = app.extensions["toxiclf"].classifier
    assert body["model"] == app.extensions["toxiclf"].name and body["threshold"] == classifier.threshold
    (result,) = body["results"]
    assert result["score"] == pytest.approx(classifier.scores(["thanks for the edit"])[0], abs=1e-6)
    assert result["label"] in {"toxic", "non-toxic"} and result["flagged"] == (result["score"] >= body["threshold"])


def test_api_batch_keeps_order(client, app, tiny_classifier_dir):
    texts = ["you idiot " * n for n in range(1, 40)] + ["thanks"] * 3
    body = client.post("/api/v1/classify", json={"texts": texts}).get_json()
    reference = Classifier(tiny_classifier_dir).scores(texts)
    assert [r["score"] for r in body["results"]] == pytest.approx(list(reference), abs=1e-5)


@pytest.mark.parametrize(
    "payload, status, message",
    [
        ({"text": ""}, 400, "text is empty"),
        ({"text": " \n\t "}, 400, "text is empty"),
        ({"texts": ["ok", "  "]}, 400, "texts[1] is empty"),
        ({"text": 42}, 400, '"text" must be a string'),
        ({"texts": "abc"}, 400, '"texts" must be a list'),
        ({"texts": []}, 400, '"texts" is empty'),
        ({"texts": ["a", 3]}, 400, "texts[1] must be a string"),
        ({"text": "a", "texts": ["b"]}, 400, "exactly one of"),
        ({"other": 1}, 400, "exactly one of"),
        ([1, 2], 400, "JSON object"),
        ({"texts": ["x"] * 257}, 413, "at most 256"),
        ({"text": "x" * 20_001}, 400, "at most 20,000"),
    ],
)
def test_api_rejects_bad_input_with_one_clear_message(client, payload, status, message):
    answer = client.post("/api/v1/classify", json=payload)
    assert answer.status_code == status
    error = answer.get_json()["error"]
    assert error["code"] == status and message in error["message"]


def test_api_rejects_non_json(client):
    for kwargs in ({"data": "text=hello"}, {"data": "{not json", "content_type": "application/json"}):
        answer = client.post("/api/v1/classify", **kwargs)
        assert answer.status_code == 400 and "must be JSON" in answer.get_json()["error"]["message"]


def test_api_rejects_a_body_over_the_size_limit(client):
    answer = client.post("/api/v1/classify", data=json.dumps({"text": "x" * 5_000_000}),
                         content_type="application/json")  # fmt: skip
    assert answer.status_code == 413 and answer.get_json()["error"]["code"] == 413


def test_unknown_api_route_and_wrong_method_answer_json(client):
    missing = client.get("/api/v2/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == 404
    wrong = client.get("/api/v1/classify")
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == 405


def test_unexpected_error_is_a_generic_json_500(app, client, monkeypatch):
    def broken(texts):
        raise RuntimeError("secret internals at /home/x")

    monkeypatch.setattr(app.extensions["toxiclf"].classifier, "predict", broken)
    answer = client.post("/api/v1/classify", json={"text": "hello"})
    assert answer.status_code == 500
    assert "secret" not in answer.get_data(as_text=True)
    page = client.post("/", data={"text": "hello"})
    assert page.status_code == 500 and "secret" not in page.get_data(as_text=True)


def test_healthz_reports_the_model(client, app):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["model"] == app.extensions["toxiclf"].name and body["backend"] == "torch"


def test_without_a_model_the_app_starts_and_says_how_to_get_one(tmp_path):
    client = create_app({"TESTING": True, "MODEL_DIR": str(tmp_path)}).test_client()
    page = client.get("/")
    assert page.status_code == 200 and "No model is loaded" in page.get_data(as_text=True)
    assert client.get("/healthz").status_code == 503
    answer = client.post("/api/v1/classify", json={"text": "hi"})
    assert answer.status_code == 503 and "No model is loaded" in answer.get_json()["error"]["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | st.fixed_dictionaries({"text": json_values}) | st.fixed_dictionaries({"texts": json_values}))
def test_fuzzed_json_never_gets_a_server_error(client, body):
    answer = client.post("/api/v1/classify", data=json.dumps(body), content_type="application/json")
    assert answer.status_code < 500
    assert answer.is_json


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_fuzzed_raw_bodies_never_get_a_server_error(client, raw):
    answer = client.post("/api/v1/classify", data=raw, content_type="application/json")
    assert answer.status_code < 500


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=2000))
def test_any_unicode_text_is_scored_or_refused_cleanly(client, text):
    answer = client.post("/api/v1/classify", json={"text": text})
    assert answer.status_code in (200, 400)
    if answer.status_code == 200:
        assert 0.0 <= answer.get_json()["results"][0]["score"] <= 1.0


def test_footer_metrics_are_the_folders_own_for_the_served_weights_and_backend(tmp_path, tiny_classifier_dir):
    import shutil

    from app.model import recorded_test_metrics
    from toxiclf.paths import sha256_file
    from toxiclf.shipping.folder_metrics import write_measured_metrics

    model, results = tmp_path / "model", tmp_path / "results"
    shutil.copytree(tiny_classifier_dir, model)
    results.mkdir()
    metrics = {"roc_auc": 0.91, "f1": 0.7, "precision": 0.8, "recall": 0.6}
    result = {"model": "x", "path": str(model), "provenance": {"eval_rows": {"test": 123}},
              "backend": "torch", "model_sha256": sha256_file(model / "model.safetensors"),
              "metrics": {"threshold_validation": metrics}}  # fmt: skip
    (results / "x.json").write_text(json.dumps(result))
    (results / "serving.json").write_text(json.dumps({"requests_per_s": 1}))  # not a model result: skipped
    assert recorded_test_metrics(model, "torch") is None  # nothing recorded in the folder yet
    write_measured_metrics(model, results)
    shutil.rmtree(results)  # the app reads the folder alone
    expected = {**metrics, "test_rows": 123, "backend": "torch", "results_file": str(results / "x.json")}
    assert recorded_test_metrics(model, "torch") == expected
    assert recorded_test_metrics(model, "onnx-int8") is None  # another backend's numbers
    page = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client().get("/")
    assert "Test split (123 comments, torch): ROC-AUC 0.9100" in page.get_data(as_text=True)
    (model / "model.safetensors").write_bytes((tiny_classifier_dir / "model.safetensors").read_bytes() + b" ")
    assert recorded_test_metrics(model, "torch") is None  # other weights since: not their numbers


def test_the_one_line_api_scores_one_text_or_many(tiny_classifier_dir):
    from toxiclf import load_classifier

    clf = load_classifier(tiny_classifier_dir, "torch")
    one = clf.predict("you idiot")
    many = clf.predict(["you idiot", "thanks for the fix"])
    assert set(one) == {"score", "label", "flagged"} and one["score"] == pytest.approx(many[0]["score"])
    assert len(many) == 2


def test_the_shipped_model_is_found_without_a_path():
    from toxiclf.paths import SHIPPED_MODEL_DIR

    assert (SHIPPED_MODEL_DIR / "config.json").exists()  # model/ in a clone, toxiclf/shipped_model when installed


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda d: (d / "config.json").write_text("{not json"), r"config.json is not valid JSON"),
        (lambda d: (d / "threshold.json").write_text("[1,"), r"threshold.json is not valid JSON"),
        (
            lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:1000]),
            r"model.safetensors cannot be read",
        ),
        (lambda d: [(d / n).unlink() for n in ("tokenizer.json", "tokenizer_config.json")], r"has no tokenizer"),
    ],
)
def test_a_broken_model_is_one_line_naming_the_file_and_a_503(tmp_path, tiny_classifier_dir, caplog, breakage,
                                                               message):  # fmt: skip
    import shutil

    from app import create_app

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    breakage(model)
    client = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0].getMessage() and str(model) in errors[0].getMessage()
    assert re.search(message, errors[0].getMessage())
    answer = client.post("/api/v1/classify", json={"text": "hi"})
    assert answer.status_code == 503 and re.search(message, answer.get_json()["error"]["message"])
    assert str(tmp_path) not in answer.get_json()["error"]["message"]  # the server's folders stay its own
    assert client.get("/healthz").status_code == 503


def test_a_missing_model_folder_is_named(tmp_path):
    from app import create_app

    client = create_app({"TESTING": True, "MODEL_DIR": str(tmp_path / "nonexistent")}).test_client()
    message = client.get("/healthz").get_json()["message"]
    assert "nonexistent" in message and str(tmp_path) not in message  # its name, not where the server keeps it


def test_hostile_json_and_wrong_methods_get_clean_answers(client):
    nested = client.post("/api/v1/classify", data="[" * 5000, content_type="application/json")
    assert nested.status_code == 400 and "error" in nested.get_json()
    wrong = client.get("/api/v1/classify")
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"] and wrong.get_json()["error"]["code"] == 405


def test_every_answer_carries_security_headers(client):
    for answer in (client.get("/"), client.get("/healthz"), client.get("/nope")):
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_request_over_the_character_budget_is_413(client):
    answer = client.post("/api/v1/classify", json={"texts": ["word " * 3000] * 20})  # 300,000 characters
    assert answer.status_code == 413 and "at most 200,000 per request" in answer.get_json()["error"]["message"]


def test_a_full_queue_answers_503_with_retry_after(app):
    import threading

    lane = app.extensions["toxiclf"].classifying
    lane._admitted = threading.BoundedSemaphore(1)
    lane._admitted.acquire()  # one request already waiting: the queue is full
    answer = app.test_client().post("/api/v1/classify", json={"text": "hello"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    lane._admitted.release()
    assert app.test_client().post("/api/v1/classify", json={"text": "hello"}).status_code == 200


def test_a_large_request_gives_the_model_back_between_slices(app):
    model = app.extensions["toxiclf"]
    model.slice_texts = 4
    calls, real_predict = [], model.classifier.predict

    def recording(texts, prepared=False):
        assert prepared  # read before the model was asked for: a turn runs the network alone
        calls.append((len(texts), model.lock.locked()))
        return real_predict(texts, prepared)

    model.classifier.predict = recording
    results = model.predict([f"comment {i}" for i in range(10)])
    assert len(results) == 10 and [n for n, _ in calls] == [4, 4, 2] and all(locked for _, locked in calls)
    assert not model.lock.locked() and model.classifying._admitted.acquire(blocking=False)  # admission given back


def test_health_and_answers_say_whether_scores_are_calibrated(tmp_path, tiny_classifier_dir):
    import shutil

    from app import create_app

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    plain = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client()
    assert plain.get("/healthz").get_json()["calibrated"] is False
    (model / "calibration.json").write_text(json.dumps({"backends": {"torch": {"method": "temperature",
                                                                               "temperature": 2.0}}}))  # fmt: skip
    calibrated = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client()
    assert calibrated.get("/healthz").get_json()["calibrated"] is True
    assert calibrated.post("/api/v1/classify", json={"text": "hi"}).get_json()["calibrated"] is True


def test_scoring_stops_when_the_client_has_gone(app):
    from app.model import ClientGone

    model = app.extensions["toxiclf"]
    model.slice_texts = 2
    slices, real_predict = [], model.classifier.predict
    model.classifier.predict = lambda texts, prepared=False: slices.append(len(texts)) or real_predict(texts, prepared)
    with pytest.raises(ClientGone):
        model.predict([f"comment {i}" for i in range(10)], client_gone=lambda: len(slices) >= 1)
    assert slices == [2] and not model.lock.locked()  # one slice scored, then it stopped and let go
    answer = app.test_client().post("/api/v1/classify", json={"text": "hi"},
                                    environ_base={"waitress.client_disconnected": lambda: True})  # fmt: skip
    assert answer.status_code == 499


def test_the_page_links_the_model_card(tmp_path, tiny_classifier_dir):
    import shutil

    from app import create_app

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    client = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client()
    assert client.get("/model-card").status_code == 404
    (model / "README.md").write_text("# A card\n")
    client = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client()
    assert 'href="/model-card"' in client.get("/").get_data(as_text=True)
    card = client.get("/model-card")
    assert card.status_code == 200 and card.get_data(as_text=True) == "# A card\n"
    assert card.headers["Content-Type"].startswith("text/markdown")


def test_a_doubled_slash_is_not_found_rather_than_redirected_to_the_client_s_host(client):
    for path in ("/static//style.css", "//api/v1/classify", "/api//v1/classify"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code in (404, 405) and "Location" not in response.headers, path


def test_a_lone_surrogate_is_a_400_with_a_sentence_not_a_500(client):
    response = client.post("/api/v1/classify", data='{"texts": ["fine", "bad \\ud800"]}',
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert "texts[1]: text holds a lone surrogate" in response.get_json()["error"]["message"]


def test_the_app_serves_a_shipped_model_chosen_by_name(tmp_path, tiny_classifier_dir, monkeypatch):
    import shutil

    from app import create_app
    from toxiclf import paths
    from toxiclf.inference.model_folder import ModelFolder

    shipped = tmp_path / "model-fast"  # a shipped folder carries its manifest
    shutil.copytree(tiny_classifier_dir, shipped)
    ModelFolder(shipped).write_manifest()
    monkeypatch.setitem(paths.SHIPPED_MODELS, "fast", paths.ShippedModel(shipped, "shipped-fast"))
    client = create_app({"TESTING": True, "MODEL_DIR": "fast", "BACKEND": "torch"}).test_client()
    answer = client.post("/api/v1/classify", json={"text": "you idiot"})
    assert answer.status_code == 200
    (result,) = answer.get_json()["results"]
    assert result["score"] == pytest.approx(Classifier(tiny_classifier_dir).scores(["you idiot"])[0], abs=1e-6)


def test_a_shipped_model_this_install_lacks_is_named_in_one_line(tmp_path, monkeypatch):
    from app import create_app
    from toxiclf import paths

    monkeypatch.setitem(paths.SHIPPED_MODELS, "fast", paths.ShippedModel(tmp_path / "not-shipped", "shipped-fast"))
    client = create_app({"TESTING": True, "MODEL_DIR": "fast"}).test_client()
    answer = client.post("/api/v1/classify", json={"text": "hi"})
    message = answer.get_json()["error"]["message"]
    assert answer.status_code == 503 and "\n" not in message
    assert message.startswith(f"this install has no 'fast' model (no {tmp_path / 'not-shipped'})")


def _shipped_copy(tmp_path, tiny_classifier_dir):
    import shutil

    from toxiclf.inference.model_folder import ModelFolder

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    ModelFolder(model).write_manifest()
    return model


def test_a_threshold_edited_after_shipping_is_refused_at_load(tmp_path, tiny_classifier_dir):
    model = _shipped_copy(tmp_path, tiny_classifier_dir)
    write_thresholds(model, threshold=0.99)
    client = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client()
    answer = client.post("/api/v1/classify", json={"text": "you are an idiot"})
    message = answer.get_json()["error"]["message"]
    assert answer.status_code == 503 and "threshold.json differs from the one shipped" in message
    assert str(tmp_path) not in message and client.get("/healthz").status_code == 503


def test_healthz_turns_503_when_a_served_file_changes_and_stays_cheap(tmp_path, tiny_classifier_dir):
    import time

    model = _shipped_copy(tmp_path, tiny_classifier_dir)
    client = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and "files as in manifest.json" in body["self_check"]
    started = time.perf_counter()
    for _ in range(20):
        assert client.get("/healthz").status_code == 200
    assert (time.perf_counter() - started) / 20 < 0.05  # stat calls, no hashing, while nothing changes
    write_thresholds(model, threshold=0.99)
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.get_json()["status"] == "model changed"
    assert (
        "threshold.json differs" in answer.get_json()["message"] and str(tmp_path) not in answer.get_json()["message"]
    )
    write_thresholds(model, threshold=0.5)  # put back: a folder changed under the server is not trusted again
    assert client.get("/healthz").status_code == 503


def test_healthz_answers_while_the_model_is_held(app, client):
    import threading
    import time

    model = app.extensions["toxiclf"]
    model.lock.acquire()  # a long turn in progress
    try:
        answer = {}
        thread = threading.Thread(target=lambda: answer.update(r=client.get("/healthz")))
        started = time.perf_counter()
        thread.start()
        thread.join(5)
        assert answer["r"].status_code == 200 and time.perf_counter() - started < 1
    finally:
        model.lock.release()
