"""ops.device_bundle and ops.gpu_results: size limits, checksums, env.sh, pack and unpack."""

import json
import subprocess
import sys

import pytest

from ops import device_bundle, gpu_results  # noqa: E402
from toxiclf.paths import REPO_ROOT


def fake_part(bundle, name="part2", files=None):
    part = bundle / name
    for relative, content in (
        files or {"minilm-l6/config.json": b"{}", "minilm-l6/model.safetensors": b"x" * 64}
    ).items():
        (part / relative).parent.mkdir(parents=True, exist_ok=True)
        (part / relative).write_bytes(content)
    device_bundle.write_manifest(part, {})
    return part


def test_install_points_the_project_at_the_parts_present_and_keeps_earlier_ones(tmp_path):
    bundle, target = tmp_path / "bundle", tmp_path / "target"
    part = fake_part(bundle)
    env_file = device_bundle.install(bundle, target)
    env = env_file.read_text()
    assert f"export TOXICLF_MINILM_DIR='{(part / 'minilm-l6').resolve()}'" in env
    assert "HF_HUB_OFFLINE='1'" in env and "TOXICLF_DATA_CSV" not in env
    # A later call brings another part: the earlier variables stay, none is repeated.
    env_file.write_text(env + "export TOXICLF_E5_FILE='/elsewhere/e5.bin'\n")
    env = device_bundle.install(bundle, target).read_text()
    assert "TOXICLF_E5_FILE='/elsewhere/e5.bin'" in env and env.count("TOXICLF_MINILM_DIR") == 1


def test_install_refuses_an_altered_file_in_one_line(tmp_path):
    bundle = tmp_path / "bundle"
    part = fake_part(bundle)
    (part / "minilm-l6" / "model.safetensors").write_bytes(b"y" * 64)  # same size, other bytes
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "device_bundle.py"),
            "install",
            "--bundle",
            str(bundle),
            "--target",
            str(tmp_path / "target"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: ") and "model.safetensors" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "target" / "env.sh").exists()


def test_install_without_a_bundle_says_how_to_build_one(tmp_path):
    with pytest.raises(device_bundle.BundleError, match="device_bundle.py build"):
        device_bundle.install(tmp_path / "nothing", tmp_path / "target")


def test_build_refuses_a_part_over_the_limit_and_leaves_nothing(tmp_path, monkeypatch):
    def writes(size):
        return lambda target, *args: target.write_bytes(b"z" * size)

    monkeypatch.setattr(device_bundle, "download_wheels", lambda target, version: (target / "a.whl").write_bytes(b"w"))
    monkeypatch.setattr(device_bundle, "compress_data", writes(3 * 2**20))
    monkeypatch.setattr(device_bundle, "copy_teacher", writes(10))
    monkeypatch.setattr(device_bundle, "minilm_fp16", lambda target: target.mkdir(parents=True))
    monkeypatch.setattr(device_bundle, "compress_shipped_weights", writes(20))
    monkeypatch.setattr(
        device_bundle,
        "write_manifest",
        lambda part, sources: {
            "part": part.name,
            "bytes": sum(f.stat().st_size for f in part.rglob("*") if f.is_file()),
            "files": {},
        },
    )
    bundle = tmp_path / "gpu_bundle"
    with pytest.raises(device_bundle.BundleError, match=r"part1 is 3\.0 MiB, part3 is 3\.0 MiB, over the 2 MiB"):
        device_bundle.build(bundle, "3.12", part_limit_mib=2)
    assert not bundle.exists() and not (tmp_path / "gpu_bundle.partial").exists()
    manifests = device_bundle.build(bundle, "3.12", part_limit_mib=4)
    assert [m["part"] for m in manifests] == ["part1", "part2", "part3"]
    assert (bundle / "part1" / "wheels" / "a.whl").exists() and (bundle / "part3" / "wheels" / "a.whl").exists()


def test_install_puts_back_shipped_weights_a_checkout_travelled_without_and_never_overwrites_others(
    tmp_path, monkeypatch
):
    weights = tmp_path / "repo" / "model" / "model.safetensors"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"w" * 100)
    monkeypatch.setattr(device_bundle, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.setattr(device_bundle, "shipped_weights", lambda: weights)
    bundle, target = tmp_path / "bundle", tmp_path / "target"
    (bundle / "part3").mkdir(parents=True)
    device_bundle.compress_shipped_weights(bundle / "part3" / device_bundle.SHIPPED_WEIGHTS_FILE, preset=0)
    manifest = device_bundle.write_manifest(bundle / "part3", {})
    assert manifest["files"][device_bundle.SHIPPED_WEIGHTS_FILE]["restores"] == "model/model.safetensors"

    weights.unlink()  # the checkout travelled without its tracked weights
    device_bundle.install(bundle, target)
    assert weights.read_bytes() == b"w" * 100
    device_bundle.install(bundle, target)  # the same weights: nothing to do
    weights.write_bytes(b"v" * 100)  # other weights (a model shipped after the bundle was built)
    with pytest.raises(device_bundle.BundleError, match="differs from the weights in part3"):
        device_bundle.install(bundle, target)
    assert weights.read_bytes() == b"v" * 100


@pytest.fixture
def packed(tmp_path, tiny_classifier_dir, monkeypatch):
    """A results folder naming a tiny trained student, packed in parts of 50 KiB."""
    import shutil

    student = tmp_path / "repo" / "outputs" / "gpu" / "student-odd"
    shutil.copytree(tiny_classifier_dir, student)
    (student / "run_config.json").write_text("{}")
    results = tmp_path / "box-results"
    results.mkdir()
    result = {
        "path": "outputs/gpu/student-odd",
        "train_rows": 10,
        "provenance": {"data": {"split_sizes": {"train": 100}}},
        "metrics": {"validation_roc_auc": 0.9},
    }
    (results / "student-odd.json").write_text(json.dumps(result))
    log = tmp_path / "teacher.log"
    log.write_text("trained\n")
    monkeypatch.setattr(sys.modules["research.ship_choice"], "REPO_ROOT", tmp_path / "repo")
    monkeypatch.setattr(gpu_results, "PART_MIB", 0.05)
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "student.tar.part09").write_bytes(b"left by an earlier phase")
    return tmp_path, gpu_results.pack(results, tmp_path / "pack", [log], allow_subset=True)


def test_pack_and_unpack_give_back_the_student_and_results(packed):
    tmp_path, record = packed
    assert len(record["student_parts"]) > 1
    assert sorted(p.name for p in (tmp_path / "pack").glob("student.tar.part*")) == sorted(record["student_parts"])
    assert record["student"] == "outputs/gpu/student-odd" and record["results_file"] == "student-odd.json"
    here = tmp_path / "here"
    target = gpu_results.unpack(tmp_path / "pack", here / "results", repo_root=here)
    assert target == here / "outputs" / "gpu" / "student-odd"
    from safetensors.torch import load_file

    original = load_file(tmp_path / "repo" / "outputs" / "gpu" / "student-odd" / "model.safetensors")
    unpacked = load_file(target / "model.safetensors")
    assert {k: v.dtype for k, v in unpacked.items()} == {k: v.half().dtype for k, v in original.items()}
    assert all((unpacked[k].float() - original[k].half().float()).abs().max() == 0 for k in original)
    assert json.loads((here / "results" / "student-odd.json").read_text())["path"] == "outputs/gpu/student-odd"
    assert (here / "outputs" / "gpu" / "logs" / "teacher.log").read_text() == "trained\n"


def test_unpack_refuses_an_altered_part(packed):
    tmp_path, record = packed
    part = tmp_path / "pack" / next(iter(record["student_parts"]))
    part.write_bytes(part.read_bytes()[:-1] + b"\0")
    with pytest.raises(gpu_results.PackError, match="altered"):
        gpu_results.unpack(tmp_path / "pack", tmp_path / "here" / "results", repo_root=tmp_path / "here")
    assert not (tmp_path / "here" / "outputs").exists()


def test_pack_takes_the_named_model_over_the_best(tmp_path, tiny_classifier_dir, monkeypatch):
    import shutil

    results = tmp_path / "box-results"
    results.mkdir()
    for name, roc_auc in (("minilm-l6", 0.99), ("minilm-l6-debiased", 0.98)):
        shutil.copytree(tiny_classifier_dir, tmp_path / "repo" / "outputs" / "gpu" / name)
        result = {"path": f"outputs/gpu/{name}", "train_rows": 100, "metrics": {"validation_roc_auc": roc_auc},
                  "provenance": {"data": {"split_sizes": {"train": 100}}}}  # fmt: skip
        (results / f"{name}.json").write_text(json.dumps(result))
    monkeypatch.setattr(gpu_results, "REPO_ROOT", tmp_path / "repo")
    record = gpu_results.pack(results, tmp_path / "pack", [], model="minilm-l6-debiased")
    assert record["student"] == "outputs/gpu/minilm-l6-debiased"
    with pytest.raises(gpu_results.PackError, match="student-odd.json is missing"):
        gpu_results.pack(results, tmp_path / "pack", [], model="student-odd")
    shutil.rmtree(tmp_path / "repo" / "outputs" / "gpu" / "minilm-l6")
    with pytest.raises(gpu_results.PackError, match="holds no model.safetensors"):
        gpu_results.pack(results, tmp_path / "pack", [], model="minilm-l6")


def test_a_pack_of_results_alone_unpacks_them_and_leaves_no_stale_student_part(packed):
    tmp_path, _ = packed  # an earlier phase left student parts in the folder
    results, log = tmp_path / "box-results", tmp_path / "teacher.log"
    record = gpu_results.pack(results, tmp_path / "pack", [log], with_model=False)
    assert record["student"] is None and not list((tmp_path / "pack").glob("student.tar.part*"))
    here = tmp_path / "here"
    assert gpu_results.unpack(tmp_path / "pack", here / "results" / "gpu-small", repo_root=here) is None
    assert json.loads((here / "results" / "gpu-small" / "student-odd.json").read_text())["train_rows"] == 10
    assert (here / "outputs" / "gpu-small" / "logs" / "teacher.log").read_text() == "trained\n"
    assert not (here / "outputs" / "gpu").exists()
