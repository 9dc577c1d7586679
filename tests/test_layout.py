"""The house's rules: no import circle in the package, no script imported by another file, and prediction that
needs neither PyTorch, transformers nor scikit-learn."""

import ast
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from toxiclf.paths import REPO_ROOT


def module_name(path) -> str:
    """'toxiclf/inference/classifier.py' -> 'toxiclf.inference.classifier'; a package's __init__ is the package."""
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path) -> set[str]:
    """The dotted modules (or packages) a file imports, at the top or inside a function alike, relative imports
    resolved: 'from ..data.splits import X' in toxiclf/inference/x.py is 'toxiclf.data.splits'."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}  # `from . import canaries`
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def package_imports(roots=("toxiclf",)) -> dict[str, set[str]]:
    """Module -> the modules of `roots` it imports (each a file of ours, not a package's __init__)."""
    paths = [path for root in roots for path in (REPO_ROOT / root).rglob("*.py")]
    modules = {module_name(path): path for path in paths if path.name != "__init__.py"}
    return {name: imported_modules(path) & modules.keys() - {name} for name, path in modules.items()}


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
    for path in [*REPO_ROOT.glob("*.py"), *REPO_ROOT.glob("toxiclf/**/*.py"), *REPO_ROOT.glob("app/*.py"),
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


# The direction of the house: the product's layers, lowest first. A module may import its own layer and those
# below it; inference (what serves) nothing of training, evaluation or shipping; nothing in the package the lab.
LAYERS = {
    "toxiclf.paths": 0, "toxiclf.schema": 0, "toxiclf.provenance": 0,
    "toxiclf.inference": 1, "toxiclf.data": 2, "toxiclf.batch": 2, "toxiclf.training": 3, "toxiclf.evaluation": 3,
    "toxiclf.shipping": 4,
}  # fmt: skip
FORBIDDEN = {"toxiclf.inference": ("toxiclf.training", "toxiclf.evaluation", "toxiclf.shipping", "toxiclf.data")}


def layer_of(module: str) -> str:
    return next(prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + "."))


def test_every_package_module_has_a_layer():
    for module in package_imports():
        if module != "toxiclf":
            assert layer_of(module)


def test_no_import_runs_against_the_layers():
    against = []
    for module, imported in package_imports().items():
        here = layer_of(module)
        for target in imported:
            there = layer_of(target)
            if LAYERS[there] > LAYERS[here] or there in FORBIDDEN.get(here, ()):
                against.append(f"{module} -> {target}")
    assert against == []


def test_nothing_in_the_package_imports_the_lab():
    offenders = [
        f"{path.relative_to(REPO_ROOT)} -> {target}"
        for path in (REPO_ROOT / "toxiclf").rglob("*.py")
        for target in imported_modules(path)
        if target.split(".")[0] in ("research", "ops", "run_eval", "run_distill", "run_lora", "distill_trainer")
    ]
    assert offenders == []


def import_depth(graph: dict[str, set[str]]) -> dict[str, int]:
    """A module's level: one more than the highest level among the modules it imports (0 for none)."""
    depth = {}

    def level(node):
        if node not in depth:
            depth[node] = 1 + max((level(target) for target in graph[node]), default=-1)
        return depth[node]

    for node in graph:
        level(node)
    return depth


def test_the_import_graph_is_at_most_eight_levels_deep():
    depth = import_depth(package_imports())
    assert max(depth.values()) <= 8, sorted(depth.items(), key=lambda item: -item[1])[:5]


def test_the_depth_counts_levels():
    assert import_depth({"a": {"b"}, "b": {"c"}, "c": set()}) == {"a": 2, "b": 1, "c": 0}


def test_pip_installs_no_lab_code():
    import tomllib

    packages = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert not [name for name in packages if name.split(".")[0] in ("research", "ops")]
    assert {"toxiclf.data", "toxiclf.inference", "toxiclf.batch"} <= set(packages)
