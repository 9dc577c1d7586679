import pytest
import torch
from conftest import make_tiny_bert

from toxiclf.training.models import TEACHER_LAYERS, build_student, is_toxicity_classifier, resolve_model


def test_layer_maps_are_the_one_based_odd_and_even_layers():
    assert [i + 1 for i in TEACHER_LAYERS["odd"]] == [1, 3, 5, 7, 9, 11]
    assert [i + 1 for i in TEACHER_LAYERS["even"]] == [2, 4, 6, 8, 10, 12]


@pytest.mark.parametrize("layers", ["odd", "even"])
def test_student_copies_each_tensor_from_its_source(tiny_teacher, layers):
    student = build_student(tiny_teacher, layers)
    assert student.config.num_hidden_layers == 6
    teacher_state, student_state = tiny_teacher.state_dict(), student.state_dict()
    for key, value in student_state.items():
        if ".encoder.layer." in key:
            index = int(key.split(".encoder.layer.")[1].split(".")[0])
            source = key.replace(f".layer.{index}.", f".layer.{TEACHER_LAYERS[layers][index]}.")
        else:  # embeddings, pooler, classifier
            source = key
        assert torch.equal(value, teacher_state[source]), key
    assert {k for k in student_state if "encoder" not in k} == {k for k in teacher_state if "encoder" not in k}


def test_odd_and_even_students_differ(tiny_teacher):
    odd, even = build_student(tiny_teacher, "odd"), build_student(tiny_teacher, "even")
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(odd.state_dict()[key], even.state_dict()[key])
    assert torch.equal(odd.classifier.weight, even.classifier.weight)


def test_student_is_independent_of_the_teacher(tiny_teacher):
    student = build_student(tiny_teacher, "odd")
    with torch.no_grad():
        student.bert.encoder.layer[0].output.dense.weight.add_(1.0)
    assert not torch.equal(student.bert.encoder.layer[0].output.dense.weight,
                           tiny_teacher.bert.encoder.layer[0].output.dense.weight)  # fmt: skip


def test_student_rejects_layers_the_teacher_lacks(tiny_teacher):
    with pytest.raises(ValueError, match="not all in 0..11"):
        build_student(tiny_teacher, (0, 12))


def test_hub_ids_and_paths_pass_through_unchanged():
    assert resolve_model("bert-base-uncased") == "bert-base-uncased"
    assert resolve_model("/some/folder") == "/some/folder"


def test_is_toxicity_classifier_reads_the_saved_labels(tmp_path, tiny_model_dir):
    make_tiny_bert().save_pretrained(tmp_path)
    assert is_toxicity_classifier(str(tmp_path))
    assert not is_toxicity_classifier(str(tiny_model_dir))


@pytest.mark.embedded
def test_minilm_resolves_to_the_packaged_folder():
    from pathlib import Path

    path = Path(resolve_model("minilm-l6"))
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()


def test_training_loads_an_fp16_folder_as_fp32_weights(tmp_path, tokenizer):
    from toxiclf.training.models import load_model_and_tokenizer

    saved = make_tiny_bert(num_layers=2).half()
    saved.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model, _ = load_model_and_tokenizer(str(tmp_path))
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    weight = "bert.embeddings.word_embeddings.weight"
    assert torch.equal(model.state_dict()[weight], saved.state_dict()[weight].float())


def test_a_smaller_student_copies_exactly_the_chosen_layers_of_any_model(tmp_path, tokenizer):
    import run_distill

    init = tmp_path / "six-layer-classifier"
    make_tiny_bert(num_layers=6, seed=3).save_pretrained(init)
    tokenizer.save_pretrained(init)
    args = run_distill.parse_args(["--student-init", str(init), "--student-layers", "4,1", "--soft-labels", "x.npz",
                                   "--alpha-cos", "0"])  # fmt: skip
    student, _, teacher = run_distill.student_and_teacher(args)
    assert teacher is None and student.config.num_hidden_layers == 2 and student.config.distilled_from_layers == [3, 0]
    source = make_tiny_bert(num_layers=6, seed=3).state_dict()
    for key, value in student.state_dict().items():
        if ".encoder.layer." in key:  # student layer 0 is layer 4 (one-based), layer 1 is layer 1
            index = int(key.split(".encoder.layer.")[1].split(".")[0])
            key = key.replace(f".layer.{index}.", f".layer.{(3, 0)[index]}.")
        assert torch.equal(value, source[key]), key
    assert args.output_dir.name == "student-six-layer-classifier-l41"


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--student-init", "odd", "--student-layers", "1,2"], "picks layers of a model folder"),
     (["--student-init", "x", "--student-layers", "0,2"], "one-based and distinct"),
     (["--student-init", "x", "--student-layers", "2,2"], "one-based and distinct"),
     (["--student-init", "x", "--student-layers", "a"], "expected layer numbers like 1,3,5")],
)  # fmt: skip
def test_student_layers_are_checked(argv, message, capsys):
    import run_distill

    with pytest.raises(SystemExit):
        run_distill.parse_args(argv)
    assert message in capsys.readouterr().err


def test_student_layers_beyond_the_model_are_one_line(tmp_path, tokenizer):
    import run_distill

    init = tmp_path / "two-layer"
    make_tiny_bert(num_layers=2).save_pretrained(init)
    tokenizer.save_pretrained(init)
    args = run_distill.parse_args(["--student-init", str(init), "--student-layers", "1,3", "--alpha-kl", "0",
                                   "--alpha-cos", "0"])  # fmt: skip
    with pytest.raises(SystemExit, match=r"--student-layers \(1, 3\): .*two-layer has 2 layers"):
        run_distill.student_and_teacher(args)
