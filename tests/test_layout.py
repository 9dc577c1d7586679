"""The house's rules: no import circle in the package, no script imported by another file, and prediction that
needs neither PyTorch, transformers nor scikit-learn."""

import ast
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from toxiclf.paths import REPO_ROOT


def package_imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports, at the top or inside a function alike."""
    modules = {path.stem: path for path in (REPO_ROOT / "toxiclf").glob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("toxiclf."):
                imported.add(node.module.split(".")[1])
        graph[name] = imported & modules.keys() - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state = {}

    def visit(node, path):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return path + [node, target]
            if target not in state and (found := visit(target, path + [node])):
                return found
        state[node] = "done"
        return None

    return next((found for node in sorted(graph) if node not in state and (found := visit(node, []))), None)


def test_the_package_has_no_import_circle():
    assert find_cycle(package_imports()) is None


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_file_imports_a_script():
    scripts = {path.stem for path in (REPO_ROOT / "scripts").glob("*.py")}
    offenders = []
    for path in [*REPO_ROOT.glob("*.py"), *REPO_ROOT.glob("toxiclf/*.py"), *REPO_ROOT.glob("app/*.py"),
                 *REPO_ROOT.glob("scripts/*.py"), *REPO_ROOT.glob("tests/*.py")]:  # fmt: skip
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in scripts or n.startswith("scripts")]
    assert offenders == []


def test_the_tokenizers_encoding_is_transformers_encoding(tiny_classifier_dir):
    from transformers import AutoTokenizer

    from toxiclf.inference.classifier import folder_tokenizer

    texts = ["you idiot", "", "THANKS for the edit!!", "page " * 100, "é 日本 🙂", "a\tb\nc"]
    ours = folder_tokenizer(tiny_classifier_dir, 16)
    expected = AutoTokenizer.from_pretrained(tiny_classifier_dir)(texts, truncation=True, max_length=16,
                                                                  padding=True, return_tensors="np")  # fmt: skip
    encodings = ours.encode_batch(texts)
    assert np.array_equal([e.ids for e in encodings], expected["input_ids"])
    assert np.array_equal([e.attention_mask for e in encodings], expected["attention_mask"])


BLOCKED = ("torch", "transformers", "sklearn", "scipy", "datasets", "matplotlib", "flask", "accelerate", "peft")


def test_prediction_needs_no_training_stack(tiny_classifier_dir, tmp_path):
    """With the int8 graph in the folder (as the shipped model carries it), a process in which torch and the
    training libraries cannot be imported loads, predicts and runs the batch CLI with the same scores."""
    import shutil

    from toxiclf.inference.classifier import load_classifier

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model, ignore=shutil.ignore_patterns("onnx"))
    texts = ["you idiot", "thanks for the edit"]
    expected = load_classifier(model, "onnx-int8").scores(texts)  # builds model/onnx with the full install
    (model / "onnx" / "model.onnx").unlink()  # shipped: the int8 graph only
    (tmp_path / "in.csv").write_text("comment_text\nyou idiot\nthanks for the edit\n")
    program = textwrap.dedent(f"""
        import importlib.abc, json, sys

        class Blocked(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ModuleNotFoundError(f"blocked: {{name}}")

        sys.meta_path.insert(0, Blocked())
        from toxiclf import load_classifier
        from toxiclf.batch.cli import main

        classifier = load_classifier({str(model)!r})
        print(json.dumps({{"backend": classifier.backend, "scores": classifier.scores({texts!r}).tolist()}}))
        main(["--input", {str(tmp_path / "in.csv")!r}, "--output", {str(tmp_path / "out.csv")!r},
              "--model", {str(model)!r}, "--no-progress"])
        assert not any(m.split(".")[0] in {BLOCKED!r} for m in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["backend"] == "onnx-int8"
    assert answer["scores"] == pytest.approx(expected.tolist(), abs=1e-6)
    assert (tmp_path / "out.csv").read_text().count("\n") == 3
