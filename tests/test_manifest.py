"""A model folder is verified whole: every file that changes a score or a label is checked against the manifest
written at shipping, every ONNX session is made from the checked bytes, and loading deletes nothing it did not
write."""

import json
import shutil

import numpy as np
import pytest
from conftest import write_thresholds

from toxiclf.inference.classifier import OnnxClassifier, load_classifier
from toxiclf.inference.manifest import ManifestError
from toxiclf.inference.model_folder import ModelFolder
from toxiclf.inference.onnx_backend import CACHE_SUBDIR, FINGERPRINT_FILE, INT8_FILE, build_onnx
from toxiclf.paths import REPO_ROOT


@pytest.fixture
def shipped(tmp_path, tiny_classifier_dir):
    """A copy of the tiny classifier with its int8 graph, shipped: a manifest lists its files."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder, ignore=shutil.ignore_patterns("onnx*"))
    (folder / "preprocessing.json").write_text(json.dumps({"normalise_obfuscation": True}))
    build_onnx(folder, needed=(INT8_FILE,))
    ModelFolder(folder).write_manifest()
    return folder


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: write_thresholds(d, threshold=0.99), "threshold.json differs from the one shipped"),
        (lambda d: (d / "preprocessing.json").unlink(), "preprocessing.json is missing"),
        (
            lambda d: (d / "calibration.json").write_text('{"torch": {"method": "temperature", "temperature": 9}}'),
            "calibration.json is not in manifest.json",
        ),  # fmt: skip
        (
            lambda d: (d / "tokenizer.json").write_text((d / "tokenizer.json").read_text().replace("idiot", "idiom")),
            "tokenizer.json differs",
        ),  # fmt: skip
        (lambda d: (d / CACHE_SUBDIR / INT8_FILE).write_bytes(b"x" * 10), "model.int8.onnx differs"),
    ],
)
def test_a_file_changed_after_shipping_refuses_the_load_in_one_line(shipped, change, named):
    change(shipped)
    for backend in ("torch", "onnx-int8"):
        with pytest.raises(ValueError, match=named) as refused:
            load_classifier(shipped, backend)
        assert "\n" not in str(refused.value)


def test_an_unchanged_shipped_folder_loads_and_says_its_files_were_checked(shipped):
    assert "files as in manifest.json" in load_classifier(shipped, "onnx-int8").self_check
    (shipped / ModelFolder.MANIFEST).unlink()  # a folder nobody vouched for (a fresh checkpoint) still loads
    assert "no manifest.json" in load_classifier(shipped, "onnx-int8").self_check


def test_the_shipped_folders_carry_a_manifest_that_their_files_match():
    for name in ("model", "model-fast"):
        manifest = ModelFolder.load(REPO_ROOT / name, required=True).manifest
        assert {"model.safetensors", "threshold.json", "calibration.json", "canaries.json", "config.json",
                "tokenizer.json", "metrics.json", "onnx/model.int8.onnx"} <= set(manifest["files"])  # fmt: skip
    assert "preprocessing.json" in ModelFolder.load(REPO_ROOT / "model").manifest["files"]
    with pytest.raises(ManifestError, match="manifest.json is missing"):
        ModelFolder.load(REPO_ROOT / "results", required=True)


def test_every_onnx_session_is_made_from_the_checked_bytes(shipped):
    texts = ["you are an idiot", "thanks for the fix", "the page"]
    classifier = OnnxClassifier(shipped, threads=2, parallel_passes=2)
    before = classifier.scores(texts)
    graph = shipped / CACHE_SUBDIR / INT8_FILE
    graph.write_bytes(graph.read_bytes()[:-1000])  # the graph on disk changes under a loaded classifier
    np.testing.assert_array_equal(classifier.scores(texts), before)  # lists: the second session, same bytes
    np.testing.assert_array_equal([classifier.scores([t])[0] for t in texts], before)
    with pytest.raises(ValueError, match="model.int8.onnx differs"):
        OnnxClassifier(shipped, threads=1)


def test_building_the_onnx_cache_never_deletes_files_it_did_not_write(tmp_path, tiny_classifier_dir):
    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder, ignore=shutil.ignore_patterns("onnx*"))
    (folder / CACHE_SUBDIR).mkdir()
    (folder / CACHE_SUBDIR / "notes.txt").write_text("mine")  # no fingerprint: the cache is rebuilt
    build_onnx(folder, needed=(INT8_FILE,))
    assert (folder / CACHE_SUBDIR / "notes.txt").read_text() == "mine"
    assert (folder / CACHE_SUBDIR / FINGERPRINT_FILE).exists() and (folder / CACHE_SUBDIR / INT8_FILE).exists()


def test_the_watch_hashes_only_what_moved_and_a_failure_stays(shipped, monkeypatch):
    from toxiclf.inference import manifest as manifest_module

    watch = ModelFolder.load(shipped).watch()
    hashed = []
    real = manifest_module.sha256_file
    monkeypatch.setattr(manifest_module, "sha256_file", lambda path: hashed.append(path.name) or real(path))
    assert watch.problem() is None and hashed == []  # nothing moved: nothing hashed
    size = (shipped / "threshold.json").stat().st_size
    (shipped / "threshold.json").write_text((shipped / "threshold.json").read_text().replace("0.5", "0.9"))
    assert (shipped / "threshold.json").stat().st_size == size  # the same size: only its hash can tell
    assert "threshold.json differs" in watch.problem() and hashed == ["threshold.json"]
