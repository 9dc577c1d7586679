"""Where things live: the repository, the user cache for converted models, the training outputs."""

import os
from pathlib import Path

import platformdirs

REPO_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Path(__file__).resolve().parent / "resources"
RESULTS_DIR = REPO_ROOT / "results"
# Checkpoints of training runs; git-ignored. Each script writes one sub-folder.
OUTPUTS_DIR = REPO_ROOT / "outputs"
# The one model committed to the repository: what the app serves by default.
SHIPPED_MODEL_DIR = REPO_ROOT / "model"


def cache_dir() -> Path:
    """Folder for one-off conversions (the embedded teacher); `TOXICLF_CACHE` overrides it."""
    return Path(os.environ.get("TOXICLF_CACHE") or platformdirs.user_cache_dir("toxiclf"))
