"""The layer probe scores cuts of a model as they are: keeping every layer is the model itself."""

import pytest
from sklearn.metrics import roc_auc_score

from research.layer_probe import probe
from toxiclf.inference.classifier import Classifier

TEXTS = ["you idiot", "thanks for the fix", "shut up moron", "nice work", "what a stupid edit", "see the talk page"]
LABELS = [1, 0, 1, 0, 1, 0]


def test_each_cut_is_scored_and_all_layers_score_as_the_model(tiny_classifier_dir):
    whole = Classifier(tiny_classifier_dir, calibrated=False, threshold=0.5).logits(TEXTS)
    found = probe(tiny_classifier_dir, [(1, 2), (1,), (2,)], TEXTS, LABELS)
    assert found["1,2"] == pytest.approx(roc_auc_score(LABELS, whole[:, 1] - whole[:, 0]))
    assert list(found) == ["1,2", "1", "2"] and all(0 <= value <= 1 for value in found.values())


def test_a_results_file_names_the_command_that_wrote_it_quoted_as_a_shell_reads_it():
    from toxiclf.provenance import command_line

    assert command_line("research.layer_probe", ["--layers", "1,3,5", "1,2"]) == (
        "python -m research.layer_probe --layers 1,3,5 1,2"
    )
    assert command_line("research.frontier", ["--checkpoints", "my model=a folder"]) == (
        "python -m research.frontier --checkpoints 'my model=a folder'"
    )
