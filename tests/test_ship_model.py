"""scripts/ship_model.py: refusals, the staged swap, thresholds per backend, the card."""

import json

import pytest

from research import ship_choice  # noqa: E402
from toxiclf.data.splits import data_provenance, load_splits
from toxiclf.shipping import ship as ship_model  # noqa: E402


@pytest.fixture
def checkpoint(tmp_path, tiny_classifier_dir):
    import shutil

    folder = tmp_path / "outputs" / "student-odd"
    shutil.copytree(tiny_classifier_dir, folder)
    (folder / "run_config.json").write_text(
        json.dumps(
            {
                "script": "run_distill.py",
                "method": "distillation",
                "args": {"num_train_epochs": 1, "max_seq_length": 64},
            }
        )
    )
    return folder


def results_for(tmp_path, checkpoint, dataset, **changes):
    splits = load_splits(str(dataset), 42)
    result = {
        "model": "student-odd",
        "path": str(checkpoint),
        "backend": "torch",
        "provenance": {"data": data_provenance(str(dataset), 42, splits)},
        "metrics": {"flags": []},
    }
    result.update(changes)
    path = tmp_path / "student-odd.json"
    path.write_text(json.dumps(result))
    return path


def test_ships_with_a_threshold_per_backend_and_keeps_the_checkpoint(tmp_path, checkpoint, tiny_dataset_dir):
    from toxiclf.inference.classifier import load_classifier, read_threshold

    output = tmp_path / "model"
    output.mkdir()
    (output / "old-file").write_text("from the previous model")
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output)
    stored = json.loads((output / "threshold.json").read_text())
    assert set(stored["thresholds"]) == {"torch", "onnx-int8"}
    for backend in ("torch", "onnx-int8"):
        assert load_classifier(output, backend).threshold == stored["thresholds"][backend]["threshold"]
    assert read_threshold(output, "onnx-fp32") == stored["thresholds"]["torch"]["threshold"]
    assert not (output / "old-file").exists()  # swapped whole, not merged
    assert (checkpoint / "model.safetensors").exists()
    assert not list(tmp_path.glob(".model.*"))  # no staging or retired folder left behind
    assert "Not measured yet" in (output / "README.md").read_text()
    from toxiclf.inference.model_folder import ModelFolder

    # shipping vouches for every file that decides a score
    listed = ModelFolder.load(output, required=True).manifest["files"]
    assert {"model.safetensors", "threshold.json", "calibration.json", "canaries.json", "onnx/model.int8.onnx"} <= set(
        listed
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"path": "outputs/student-even"}, "results are for"),
        ({"backend": "onnx-int8"}, "onnx-int8 backend"),
        ({"metrics": {"flags": ["degenerate"]}}, "flagged"),
        ({"model_sha256": "0" * 64}, "measured on other weights"),  # the folder was trained again since
    ],
)
def test_refuses_results_that_do_not_belong(tmp_path, checkpoint, tiny_dataset_dir, changes, message):
    output = tmp_path / "model"
    with pytest.raises(ship_model.ShipError, match=message):
        ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir, **changes), output)
    assert not output.exists()


def test_refuses_results_measured_on_another_split(tmp_path, checkpoint, tiny_dataset_dir):
    path = results_for(tmp_path, checkpoint, tiny_dataset_dir)
    result = json.loads(path.read_text())
    result["provenance"]["data"]["split_sizes"]["train"] += 1
    path.write_text(json.dumps(result))
    with pytest.raises(ship_model.ShipError, match="other data .split_sizes"):
        ship_model.ship(checkpoint, path, tmp_path / "model")


def test_refuses_to_ship_onto_the_checkpoint(tmp_path, checkpoint, tiny_dataset_dir):
    results = results_for(tmp_path, checkpoint, tiny_dataset_dir)
    for output in (checkpoint, checkpoint.parent):
        with pytest.raises(ship_model.ShipError, match="overlaps the checkpoint"):
            ship_model.ship(checkpoint, results, output)
    assert (checkpoint / "model.safetensors").exists()


def test_an_oversized_model_changes_nothing(tmp_path, checkpoint, tiny_dataset_dir, monkeypatch):
    output = tmp_path / "model"
    output.mkdir()
    (output / "config.json").write_text("{}")
    monkeypatch.setattr(ship_model, "MAX_SHIPPED_MB", 0)
    with pytest.raises(ship_model.ShipError, match="over the 0 MiB budget; nothing changed"):
        ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output)
    assert [p.name for p in output.iterdir()] == ["config.json"]
    assert not list(tmp_path.glob(".model.*"))


def test_card_refresh_refuses_results_of_other_weights(tmp_path, checkpoint, tiny_dataset_dir):
    output = tmp_path / "model"
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    stale = tmp_path / "shipped.json"
    stale.write_text(json.dumps({"model_sha256": "0" * 64}))
    with pytest.raises(ship_model.ShipError, match="other weights"):
        ship_model.refresh_card(output, stale)


def test_the_card_states_calibration_and_bias_from_the_results(tmp_path, checkpoint, tiny_dataset_dir):
    from toxiclf.shipping.model_card import model_card

    output = tmp_path / "model"
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    results = tmp_path / "results"
    results.mkdir()
    point = {"ece": 0.05, "brier": 0.04, "ece_bins": "15 equal-width bins"}
    (results / "calibration.json").write_text(json.dumps({"shipped": {
        "backend": "onnx-int8", "test_rows": 31687, "map": {"method": "platt"}, "before": point,
        "after": {**point, "ece": 0.012}, "roc_auc_before_after": [0.98, 0.98]}}))  # fmt: skip

    def audited(threshold, flagged, worst):
        return {"threshold": threshold, "backend": "onnx-int8", "worst_terms_by_neutral_false_positive_rate": worst,
                "templates": {"overall": {"neutral_false_positive_rate": flagged, "toxic_recall": 0.95}}}  # fmt: skip

    (results / "bias.json").write_text(json.dumps({"terms": 40, "sentences": 1200, "models": {
        "shipped": audited(0.4, 0.031, [["gay", 0.3], ["Muslim", 0.2]]),
        "student-odd": audited(0.35, 0.072, [["homosexual", 0.9]])}}))  # fmt: skip
    card = model_card(output, None, results)
    assert "platt scaling" in card and "**0.0120** after" in card
    assert "40 identity terms, 15 neutral and 15 toxic templates each" in card
    assert "flagged **3.1%**" in card and "gay 30%, Muslim 20%" in card and "caught 95.0%" in card
    assert "| student-odd | 0.350 | 7.2% | homosexual 90% | 95.0% |" in card  # the model before mitigation


def test_the_card_names_how_the_model_was_made(tmp_path, checkpoint, tiny_dataset_dir):
    from toxiclf.shipping.model_card import model_card

    output = tmp_path / "model"
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    assert "tags: [toxicity, moderation, distillation]" in model_card(output, None)
    run = json.loads((output / "run_config.json").read_text())
    fine_tuned = {**run, "script": "run_finetune.py", "method": "full fine-tune", "base_model": "minilm-l6"}
    (output / "run_config.json").write_text(json.dumps(fine_tuned))
    card = model_card(output, None)
    assert "tags: [toxicity, moderation]\n" in card and "Trained from `minilm-l6` by this repository" in card
    assert "identity sentences" not in card
    fine_tuned["args"]["identity_augmentation"] = "balanced-statements"
    fine_tuned["data"] = {"split_sizes": {"train": 140}}
    (output / "run_config.json").write_text(json.dumps(fine_tuned))
    assert "plus non-toxic identity sentences against bias (`--identity-augmentation balanced-statements`)" in (
        model_card(output, None)
    )
    assert "Davidson" not in model_card(output, None)
    fine_tuned["args"] |= {"davidson": "davidson_labeled_data.csv", "davidson_samples": None}
    (output / "run_config.json").write_text(json.dumps(fine_tuned))
    assert "plus 5,000 tweets of Davidson et al. (2017), hate or offensive as toxic (`--davidson`)" in (
        model_card(output, None)
    )


def test_the_card_states_the_functional_suite_of_these_weights_only(tmp_path, checkpoint, tiny_dataset_dir):
    from toxiclf.paths import sha256_file
    from toxiclf.shipping.model_card import model_card

    output = tmp_path / "model"
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    results = tmp_path / "results"
    results.mkdir()
    functionalities = {
        "threat_direct": {"label": 1, "flagged_rate": 0.95, "goal": "caught >= 90%", "meets_goal": True},
        "derogation_implicit": {"label": 1, "flagged_rate": 0.41, "goal": "caught >= 90%", "meets_goal": False},
        "question_neutral": {"label": 0, "flagged_rate": 0.02},
    }
    shipped = {"model_sha256": sha256_file(output / "model.safetensors"), "backend": "onnx-int8", "cases": 1768,
               "toxic_caught": 0.8081, "non_toxic_flagged": 0.0532, "goals_met": 1, "goals": 2,
               "functionalities": functionalities}  # fmt: skip
    (results / "functional.json").write_text(json.dumps({"models": {"shipped": shipped}}))
    card = model_card(output, None, results)
    assert "1,768 short templated sentences in 3 functionalities" in card and "caught **80.8%**" in card
    assert "flagged **5.3%**; 1 of 2 goals met" in card
    assert "Still wrong too often: derogation_implicit (41% flagged; goal: caught >= 90%)." in card
    shipped["model_sha256"] = "0" * 64  # measured on other weights: not this model's numbers
    (results / "functional.json").write_text(json.dumps({"models": {"shipped": shipped}}))
    assert "Not measured yet (`python run_eval.py functional" in model_card(output, None, results)


def test_calibration_and_thresholds_are_fitted_on_validation_texts_only(
    tmp_path, checkpoint, tiny_dataset_dir, monkeypatch
):
    import toxiclf.inference.classifier

    scored = []
    original = toxiclf.inference.classifier.load_classifier

    def recording_loader(*args, **kwargs):
        classifier = original(*args, **kwargs)
        score = classifier.scores
        classifier.scores = lambda texts, **options: scored.extend(texts) or score(texts, **options)
        return classifier

    monkeypatch.setattr(toxiclf.inference.classifier, "load_classifier", recording_loader)
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), tmp_path / "model")
    splits = load_splits(str(tiny_dataset_dir), 42)
    from toxiclf.inference.canaries import TEXTS as CANARY_TEXTS  # fixed sentences scored for the canaries, no split's

    fitted = set(scored) - set(CANARY_TEXTS)
    assert fitted == set(splits["validation"]["comment_text"])  # every backend, the same rows
    assert not set(scored) & set(splits["test"]["comment_text"])


def test_already_shipped_knows_the_source_and_its_weights(tmp_path, checkpoint, tiny_dataset_dir):
    output = tmp_path / "model"
    assert not ship_model.already_shipped(checkpoint, output)
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output)
    assert ship_model.already_shipped(checkpoint, output)
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")  # retrained in place: not the shipped weights
    assert not ship_model.already_shipped(checkpoint, output)


def write_contender(results, name, validation_roc_auc, train_rows=100):
    (results / f"{name}.json").write_text(json.dumps({
        "path": f"outputs/{name}", "train_rows": train_rows, "metrics": {"validation_roc_auc": validation_roc_auc},
        "provenance": {"data": {"split_sizes": {"train": 100}}}}))  # fmt: skip


def write_audits(results, **flagged):
    """flagged: name -> (neutral false-positive rate overall, worst term's, toxic recall)."""
    (results / "bias.json").write_text(json.dumps({"models": {name: {
        "path": f"outputs/{name}",
        "templates": {"overall": {"neutral_false_positive_rate": overall, "toxic_recall": recall},
                      "terms": {"gay": {"neutral_false_positive_rate": worst}}}}
        for name, (overall, worst, recall) in flagged.items()}}))  # fmt: skip


def test_best_small_model_is_the_best_full_data_run_by_validation(tmp_path):
    write_contender(tmp_path, "student-odd", 0.980)
    write_contender(tmp_path, "minilm-l6", 0.985)
    write_contender(tmp_path, "student-even", 0.990, train_rows=50)  # a subset run: not a contender
    checkpoint, results_file = ship_choice.best_small_model((tmp_path,))
    assert checkpoint == ship_choice.REPO_ROOT / "outputs" / "minilm-l6" and results_file.name == "minilm-l6.json"


def test_best_small_model_weighs_the_cpu_and_the_gpu_runs_alike(tmp_path):
    cpu, gpu = tmp_path / "results", tmp_path / "results" / "gpu"
    gpu.mkdir(parents=True)
    write_contender(cpu, "student-odd", 0.983)
    write_contender(gpu, "minilm-l6", 0.986)
    write_contender(gpu, "student-odd-ens", 0.984)
    checkpoint, results_file = ship_choice.best_small_model((cpu, gpu))
    assert results_file == gpu / "minilm-l6.json"
    write_contender(cpu, "minilm-l6-ens", 0.987)
    assert ship_choice.best_small_model((cpu, gpu))[1] == cpu / "minilm-l6-ens.json"


def test_no_contender_anywhere_is_a_one_line_error(tmp_path):
    with pytest.raises(ship_model.ShipError, match="no full-data results"):
        ship_choice.best_small_model((tmp_path, tmp_path / "gpu"))


@pytest.mark.parametrize(
    "mitigated_roc_auc, audits, replaces",
    [
        (0.9825, {"student-odd": (0.07, 0.9, 1.0), "student-odd-debiased": (0.02, 0.2, 1.0)}, True),
        (0.9825, {"student-odd": (0.07, 0.9, 1.0)}, False),  # the mitigated model was not audited
        (0.9815, {"student-odd": (0.07, 0.9, 1.0), "student-odd-debiased": (0.02, 0.2, 1.0)}, False),  # costs 0.0015
        (0.9825, {"student-odd": (0.07, 0.2, 1.0), "student-odd-debiased": (0.02, 0.3, 1.0)}, False),  # worst term
        (0.9825, {"student-odd": (0.07, 0.9, 1.0), "student-odd-debiased": (0.02, 0.2, 0.95)}, False),  # recall
    ],
)
def test_a_mitigated_model_replaces_its_base_only_when_the_audit_and_validation_agree(
    tmp_path, mitigated_roc_auc, audits, replaces
):
    write_contender(tmp_path, "student-odd", 0.983)
    write_contender(tmp_path, "student-odd-debiased", mitigated_roc_auc)
    write_contender(tmp_path, "minilm-l6", 0.9820)
    write_audits(tmp_path, **audits)
    checkpoint, _ = ship_choice.best_small_model((tmp_path,))
    assert checkpoint.name == ("student-odd-debiased" if replaces else "student-odd")


@pytest.mark.parametrize(
    "statements_audit, holder",
    [
        ((0.01, 0.2, 1.0), "minilm-l6-debiased-statements"),  # better than the first mitigation too
        ((0.04, 0.5, 1.0), "minilm-l6-debiased"),  # better than the base, not than the first mitigation
        (None, "minilm-l6-debiased"),  # not audited
    ],
)
def test_a_second_mitigation_is_weighed_against_the_first(tmp_path, statements_audit, holder):
    write_contender(tmp_path, "minilm-l6", 0.9863)
    write_contender(tmp_path, "minilm-l6-debiased", 0.9865)
    write_contender(tmp_path, "minilm-l6-debiased-statements", 0.9863)
    audits = {"minilm-l6": (0.09, 0.7, 1.0), "minilm-l6-debiased": (0.03, 0.5, 1.0)}
    if statements_audit:
        audits["minilm-l6-debiased-statements"] = statements_audit
    write_audits(tmp_path, **audits)
    checkpoint, _ = ship_choice.best_small_model((tmp_path,))
    assert checkpoint.name == holder


def test_the_card_marks_the_audited_model_before_mitigation(tmp_path, checkpoint, tiny_dataset_dir):
    from toxiclf.shipping.model_card import model_card

    output = tmp_path / "model"
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    run = json.loads((output / "run_config.json").read_text())
    run["args"]["identity_augmentation"] = "balanced-statements"
    (output / "run_config.json").write_text(json.dumps(run))
    trained = {"before": 0, "other": "balanced", "unrelated": 0}
    for name, augmentation in trained.items():
        (tmp_path / name).mkdir()
        args = {**run["args"], "identity_augmentation": augmentation, "output_dir": str(tmp_path / name)}
        if name == "unrelated":
            args["learning_rate"] = 1.0
        (tmp_path / name / "run_config.json").write_text(json.dumps({**run, "args": args}))
    results = tmp_path / "results"
    results.mkdir()
    entry = {"threshold": 0.5, "backend": "onnx-int8", "worst_terms_by_neutral_false_positive_rate": [["gay", 0.5]],
             "templates": {"overall": {"neutral_false_positive_rate": 0.09, "toxic_recall": 1.0}}}  # fmt: skip
    models = {"shipped": entry, **{name: {**entry, "path": str(tmp_path / name)} for name in trained}}
    (results / "bias.json").write_text(json.dumps({"terms": 51, "sentences": 1020, "models": models}))
    card = model_card(output, None, results)
    assert "| before (before mitigation) | 0.500 |" in card and "| other (other mitigation) | 0.500 |" in card
    assert "| unrelated | 0.500 |" in card


def test_shipping_with_normalisation_writes_it_before_the_thresholds(tmp_path, checkpoint, tiny_dataset_dir,
                                                                     monkeypatch):  # fmt: skip
    from toxiclf.inference.classifier import load_classifier

    seen = []
    original = ship_model.validation_thresholds

    def recording(model_dir, backends, validation):
        seen.append(
            len(load_classifier(model_dir, "torch", need_threshold=False).preprocessing)
        )  # what the thresholds are fitted with
        return original(model_dir, backends, validation)

    monkeypatch.setattr(ship_model, "validation_thresholds", recording)
    output = tmp_path / "model"
    results = results_for(tmp_path, checkpoint, tiny_dataset_dir)
    steps = {"normalise_obfuscation": True, "restore_misspelt_words": True, "segment_joined_words": True}
    ship_model.ship(checkpoint, results, output, backends=("torch",), preprocessing=steps)
    assert seen == [3] and json.loads((output / "preprocessing.json").read_text()) == steps
    card = (output / "README.md").read_text()
    assert "Texts are normalised before tokenizing" in card and "(`toxiclf/inference/spelling.py`)" in card


def test_rethresholding_can_change_the_preprocessing_of_a_shipped_folder(tmp_path, checkpoint, tiny_dataset_dir,
                                                                         monkeypatch):  # fmt: skip
    from toxiclf.data import splits as data
    from toxiclf.inference.classifier import load_classifier

    output = tmp_path / "model"
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    weights = (output / "model.safetensors").read_bytes()
    shipped_from = {k: v for k, v in json.loads((output / "threshold.json").read_text()).items()
                    if k in ("source", "source_sha256", "selected_by")}  # fmt: skip
    monkeypatch.setattr(data, "load_splits", lambda *args, **kwargs: load_splits(str(tiny_dataset_dir), 42))
    seen = []
    original = ship_model.validation_thresholds

    def recording(model_dir, backends, validation):
        seen.append(load_classifier(model_dir, "torch", need_threshold=False, check=False).preprocessing)
        return original(model_dir, backends, validation)

    monkeypatch.setattr(ship_model, "validation_thresholds", recording)
    ship_model.main(["--rethreshold", "--output", str(output), "--restore-spelling", "--segment-joined-words"])
    asked = {"restore_misspelt_words": True, "segment_joined_words": True}
    assert json.loads((output / "preprocessing.json").read_text()) == asked
    assert len(seen[0]) == 2  # the thresholds were fitted on texts preprocessed as they will be served
    assert (output / "model.safetensors").read_bytes() == weights
    rethresholded = json.loads((output / "threshold.json").read_text())
    assert len(shipped_from) == 3 and rethresholded.items() >= shipped_from.items()
    assert ship_model.already_shipped(checkpoint, output)  # where the weights came from is still known
    assert "(`toxiclf/inference/spelling.py`)" in (output / "README.md").read_text()
    assert load_classifier(output, "torch").preprocessing  # its canaries were recorded with the new steps
    ship_model.main(["--rethreshold", "--output", str(output)])  # no step named: the folder keeps its own
    assert json.loads((output / "preprocessing.json").read_text()) == asked


def test_the_card_names_a_weight_averaged_model_s_base_by_its_weights(tmp_path, checkpoint, tiny_dataset_dir):
    from toxiclf.shipping.model_card import model_card

    output = tmp_path / "model"
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    run = json.loads((output / "run_config.json").read_text())
    run.update(base_model="model", weight_averaging={"alpha": 0.7, "base_sha256": "ab" * 32})
    (output / "run_config.json").write_text(json.dumps(run))
    card = model_card(output, None)
    assert "Fine-tuned further from the model shipped before it (weights sha256 `abababababab…`), then averaged" in card
    assert "0.3 × that model + 0.7 × the fine-tuned one" in card and "from `model`" not in card


def test_the_card_says_why_this_model_and_not_the_project_s_contenders(tmp_path, checkpoint, tiny_dataset_dir):
    from toxiclf.shipping.model_card import model_card

    output = tmp_path / "model"
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    served = json.loads((output / "threshold.json").read_text())["thresholds"]["torch"]["validation_roc_auc"]
    results = tmp_path / "results"
    results.mkdir()

    def scored(name, validation, test):
        result = {"model": name, "train_rows": 111216, "train_epochs": 1.0, "cost": {"parameters": 29_150_000},
                  "metrics": {"validation_roc_auc": validation, "threshold_validation": {"roc_auc": test}}}  # fmt: skip
        (results / f"{name}.json").write_text(json.dumps(result))

    assert "Not compared yet" in model_card(output, None, results)
    scored("student-odd", served - 0.01, 0.97)
    scored("lora", served - 0.02, 0.96)
    card = model_card(output, None, results)
    assert "| student-odd | 29.1 M | 111,216 × 1.0 |" in card and "| 0.9700 |" in card
    assert "above every contender's" in card
    scored("student-even", served + 0.001, 0.99)  # a contender that beats it on validation is named
    assert "below student-even: it is served for its size and robustness" in model_card(output, None, results)


def test_the_fast_tier_card_reads_its_own_entries_and_the_frontier(tmp_path, checkpoint, tiny_dataset_dir,
                                                                   monkeypatch):  # fmt: skip
    from toxiclf import paths
    from toxiclf.shipping.model_card import model_card

    output = tmp_path / "model-fast"
    monkeypatch.setitem(paths.SHIPPED_MODELS, "fast", paths.ShippedModel(output, "shipped-fast"))
    ship_model.ship(checkpoint, results_for(tmp_path, checkpoint, tiny_dataset_dir), output, backends=("torch",))
    shipped_card = (output / "README.md").read_text()
    assert f"--checkpoints shipped-fast={output} --backend onnx-int8" in shipped_card
    assert f"--refresh-card results/shipped-fast.json --output {output}" in shipped_card
    results = tmp_path / "results"
    results.mkdir()
    audited = {"threshold": 0.5, "backend": "onnx-int8", "worst_terms_by_neutral_false_positive_rate": [["gay", 0.2]],
               "templates": {"overall": {"neutral_false_positive_rate": 0.02, "toxic_recall": 0.9}}}  # fmt: skip
    (results / "bias.json").write_text(json.dumps({"terms": 40, "sentences": 1200, "models": {
        "shipped": {**audited, "worst_terms_by_neutral_false_positive_rate": [["Muslim", 0.4]]},
        "shipped-fast": audited}}))  # fmt: skip
    (results / "frontier.json").write_text(json.dumps({"threads": 2, "models": [
        {"model": "shipped", "layers": 6, "comments_per_s": 230.0, "roc_auc": 0.9873, "quality_backend": "onnx-int8"},
        {"model": "shipped-fast", "layers": 3, "comments_per_s": 460.0, "roc_auc": 0.9860,
         "quality_backend": "onnx-int8"}]}))  # fmt: skip
    card = model_card(output, None, results, ship_model.card_name(output))
    assert "worst terms: gay 20%" in card and "| shipped | 0.500 | 2.0% | Muslim 40% |" in card  # the default beside
    assert "3 layers against the default model's 6, **2.00×** its comments/s (460 against 230" in card
    assert "test ROC-AUC of 0.9860 against 0.9873 (onnx-int8)" in card
    assert "The project's own experiment" not in card  # the 6-layer choice is the default model's story

    # The inference benchmark, where it timed both shipped folders as served, is preferred to the frontier
    from toxiclf.evaluation.bench import FAST_SERVED, SERVED
    from toxiclf.paths import sha256_file, shown_path

    default_folder = paths.SHIPPED_MODELS["default"].folder
    timed = {
        "default": sha256_file(default_folder / "model.safetensors"),
        "fast": sha256_file(output / "model.safetensors"),
    }

    def bench(default_checkpoint, default_sha256=timed["default"]):
        rows = [
            {"variant": SERVED, "checkpoint": default_checkpoint, "throughput_comments_per_s_batch32": 500.0,
             "model_sha256": default_sha256},
            {"variant": FAST_SERVED, "checkpoint": shown_path(output), "throughput_comments_per_s_batch32": 900.0,
             "model_sha256": timed["fast"]},
        ]  # fmt: skip
        (results / "inference_bench.json").write_text(json.dumps({"threads": 2, "variants": rows}))
        return model_card(output, None, results, ship_model.card_name(output))

    card = bench(shown_path(default_folder))
    assert "**1.80×** its comments/s (900 against 500: both as served, ONNX Runtime int8, 2 threads" in card
    assert "results/frontier.json" not in card
    assert "results/frontier.json" in bench("outputs/another-student")  # not the shipped pair: the frontier
    assert "results/frontier.json" in bench(shown_path(default_folder), "0" * 64)  # the folder, other weights


def test_the_fast_tier_is_the_best_student_as_served_on_validation_whose_weights_are_here(tmp_path, checkpoint,
                                                                                         monkeypatch):  # fmt: skip
    import shutil

    from toxiclf.paths import sha256_file

    monkeypatch.setattr(ship_choice, "REPO_ROOT", tmp_path)
    results = tmp_path / "results"
    results.mkdir()

    def scored(name, folder, validation_roc, served_validation_roc):
        weights = sha256_file(folder / "model.safetensors") if folder.exists() else "0" * 64
        for suffix, roc, backend in (("", validation_roc, "torch"), ("-int8", served_validation_roc, "onnx-int8")):
            (results / f"{name}{suffix}.json").write_text(json.dumps({
                "model": name + suffix, "path": str(folder.relative_to(tmp_path)), "backend": backend,
                "model_sha256": weights, "metrics": {"validation_roc_auc": roc}}))  # fmt: skip

    other = tmp_path / "outputs" / "student-3l-246-kd"
    shutil.copytree(checkpoint, other)
    scored("student-3l-135-kd", tmp_path / "outputs" / "student-3l-135-kd", 0.99, 0.99)  # best, but its weights went
    scored("student-3l-135-ce", checkpoint, 0.985, 0.980)  # better in PyTorch, worse as served
    scored("student-3l-246-kd", other, 0.983, 0.982)
    assert ship_choice.best_fast_student(results) == (other, results / "student-3l-246-kd.json")
    deeper = tmp_path / "outputs" / "student-4l-1245-kd"
    shutil.copytree(checkpoint, deeper)
    config = json.loads((deeper / "config.json").read_text())
    (deeper / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 4}))
    monkeypatch.setattr(ship_choice, "SMALL_PLAN", (*ship_choice.SMALL_PLAN, "student-4l-1245-kd"))
    scored("student-4l-1245-kd", deeper, 0.995, 0.995)  # better, but twice the speed is the tier's reason to exist
    assert ship_choice.best_fast_student(results)[0] == other
    (other / "model.safetensors").write_bytes(b"retrained since")  # no longer the weights scored
    assert ship_choice.best_fast_student(results)[0] == checkpoint
