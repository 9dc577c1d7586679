"""Where things live: the repository, the user cache for converted models, the training outputs."""

import functools
import hashlib
import importlib.util
import os
import time
from pathlib import Path
from typing import NamedTuple

import platformdirs

REPO_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Path(__file__).resolve().parent / "resources"
RESULTS_DIR = REPO_ROOT / "results"
GPU_RESULTS_DIR = RESULTS_DIR / "gpu"  # the GPU run's own table: its epochs are not the CPU run's
GPU_SMALL_RESULTS_DIR = RESULTS_DIR / "gpu-small"  # the smaller students trained again on a GPU, on the CPU recipe
# Checkpoints of training runs; git-ignored. Each script writes one sub-folder.
OUTPUTS_DIR = REPO_ROOT / "outputs"
# The default model: what the app serves unless told otherwise. In a clone it is model/; an installed package
# carries a copy as toxiclf/shipped_model (see pyproject.toml).
_IN_CLONE = (REPO_ROOT / "model" / "config.json").exists()
SHIPPED_MODEL_DIR = REPO_ROOT / "model" if _IN_CLONE else Path(__file__).resolve().parent / "shipped_model"
# The fast tier: a 3-layer student of the default model, about twice its comments/s per core at a small cost in
# quality (docs/evaluation.md, the frontier); model-fast/ in a clone, toxiclf/shipped_model_fast when installed.
FAST_MODEL_DIR = REPO_ROOT / "model-fast" if _IN_CLONE else Path(__file__).resolve().parent / "shipped_model_fast"


class ShippedModel(NamedTuple):
    """A model folder committed to the repository and carried by the package, picked by its name."""

    folder: Path
    results_name: str  # its name in the results files and comparisons (run_eval.py score --checkpoints NAME=FOLDER)


# The one table of the shipped models: the names users pick them by (load_classifier, --model, TOXICLF_MODEL).
SHIPPED_MODELS = {
    "default": ShippedModel(SHIPPED_MODEL_DIR, "shipped"),
    "fast": ShippedModel(FAST_MODEL_DIR, "shipped-fast"),
}


class ModelNotFound(FileNotFoundError):
    """A model named or pointed to that is not there; its message is one line, for the CLI, the app and Ray alike."""


def model_folder(name_or_path: str | os.PathLike | None, must_exist: bool = False) -> Path:
    """The folder of a shipped model by name ("default", "fast"; None: the default), else the path given. A name
    wins over a folder of the same name in the working directory: write ./fast for that one. `must_exist` raises
    ModelNotFound unless the folder holds a model (its config.json)."""
    name_or_path = "default" if name_or_path is None else name_or_path
    named = isinstance(name_or_path, str) and name_or_path in SHIPPED_MODELS
    folder = SHIPPED_MODELS[name_or_path].folder if named else Path(name_or_path)
    if must_exist and not (folder / "config.json").exists():
        if named and name_or_path != "default":
            raise ModelNotFound(f"this install has no {name_or_path!r} model (no {folder}); use the default model")
        raise ModelNotFound(f"no model at {folder} (no config.json): give a trained checkpoint folder")
    return folder


def shipped_model_named(results_name: str) -> ShippedModel | None:
    """The shipped model recorded as `results_name` in the results files ("shipped", "shipped-fast"), if any."""
    return next((model for model in SHIPPED_MODELS.values() if model.results_name == results_name), None)


def shipped_model_at(folder: Path) -> ShippedModel | None:
    """The shipped model whose folder `folder` is, if any."""
    return next((model for model in SHIPPED_MODELS.values() if model.folder.resolve() == Path(folder).resolve()), None)


def packaged_file(package: str, relative: str, override_env: str | None = None) -> Path | None:
    """A data file shipped inside an installed package, found without importing it; None if not installed.

    `override_env` names an environment variable that points to a copy of the file instead.
    """
    if override_env and os.environ.get(override_env):
        return Path(os.environ[override_env])
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / relative


def shown_path(path: Path) -> str:
    """A path as results files and the README record it: relative to the repository when inside it, so that
    no machine's folders of the project are written down; elsewhere as given."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def sha256_file(path: Path) -> str:
    """The file's sha256, remembered for as long as its size and modification time stay the same (a model load
    asks for its weights' digest several times: ONNX cache, canaries, recorded results). A file changed in the last
    two seconds is always read: a change within the file system's timestamp tick would keep its old time."""
    stat = os.stat(path)
    if time.time_ns() - stat.st_mtime_ns < 2_000_000_000:
        return _sha256.__wrapped__(path, stat.st_size, stat.st_mtime_ns)
    return _sha256(os.path.realpath(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cache_dir() -> Path:
    """Folder for one-off conversions (the embedded teacher); `TOXICLF_CACHE` overrides it."""
    return Path(os.environ.get("TOXICLF_CACHE") or platformdirs.user_cache_dir("toxiclf"))
