"""A model folder's manifest: the sha256 and size of every file that changes a score or a label, written when the
folder is shipped and verified whenever it is loaded, so that an edited threshold, calibration, preprocessing,
tokenizer, graph or weight file is refused in one line instead of served.

    python scripts/ship_model.py --write-manifest                     # (re)write model/manifest.json
    python scripts/ship_model.py --write-manifest --output model-fast

A folder without a manifest loads (a checkpoint fresh from training, whose files nobody vouched for), with its
self-check saying so; a shipped folder (model/, model-fast/) without one is refused. `ManifestWatch` re-checks a
loaded folder cheaply for /healthz: the size and modification time of each file, and the sha256 of those that
changed.
"""

import json
import os
import threading
from pathlib import Path

from ..paths import sha256_file

MANIFEST_FILE = "manifest.json"
# Every file a folder may hold that changes what a text scores or how it is labelled. onnx/model.onnx (fp32) is a
# build cache, checked against the weights by onnx/fingerprint.json; the int8 graph is shipped and listed.
SCORED_FILES = (
    "config.json", "model.safetensors", "run_config.json",  # the network, and the window it was trained with
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",  # the tokenizer
    "threshold.json", "calibration.json", "preprocessing.json", "canaries.json",  # labels, scores, reading, self-check
    "onnx/model.int8.onnx",  # the served graph
)  # fmt: skip


class ManifestError(ValueError):
    """A model folder that does not match its manifest (one line naming the file)."""


def write_manifest(model_dir: Path) -> dict:
    """Record the sha256 and size of each of SCORED_FILES the folder holds."""
    model_dir = Path(model_dir)
    files = {name: {"sha256": sha256_file(model_dir / name), "size": (model_dir / name).stat().st_size}
             for name in SCORED_FILES if (model_dir / name).is_file()}  # fmt: skip
    manifest = {
        "about": "sha256 and size of every file of this folder that changes a score or a label; loading verifies "
        "them and refuses a folder that differs (toxiclf.inference.manifest).",
        "command": "python scripts/ship_model.py --write-manifest",
        "files": files,
    }
    staged = model_dir / f".{MANIFEST_FILE}.new"
    staged.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(staged, model_dir / MANIFEST_FILE)
    return manifest


def read_manifest(model_dir: Path) -> dict | None:
    """The folder's manifest, None where it has none; ManifestError for one that cannot be read."""
    path = Path(model_dir) / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        if not all(isinstance(v.get("sha256"), str) and isinstance(v.get("size"), int) for v in files.values()):
            raise ValueError("an entry lacks its sha256 or size")
        return manifest
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ManifestError(f"{path} is not a valid manifest ({type(error).__name__}: {error})") from None


def problem(model_dir: Path, manifest: dict, changed=None) -> str | None:
    """Why the folder differs from `manifest` (one line naming the file), or None. `changed`: the names to hash
    (default: all listed); the others are taken as checked."""
    model_dir = Path(model_dir)
    listed = manifest["files"]
    for name in SCORED_FILES:
        if name not in listed and (model_dir / name).is_file() and not name.startswith("onnx/"):
            return f"{model_dir / name} is not in {MANIFEST_FILE}: it was added after the folder was shipped"
    for name, entry in listed.items():
        path = model_dir / name
        if not path.is_file():
            return f"{path} is missing; {MANIFEST_FILE} lists it"
        if changed is not None and name not in changed:
            continue
        if path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            return f"{path} differs from the one shipped ({MANIFEST_FILE}): changed since, refused"
    return None


def verify(model_dir: Path, required: bool = False) -> dict | None:
    """The folder's manifest once every listed file matches it; None for a folder without one (ManifestError if
    `required`); ManifestError naming the first file that differs."""
    manifest = read_manifest(model_dir)
    if manifest is None:
        if required:
            raise ManifestError(f"{Path(model_dir) / MANIFEST_FILE} is missing: a shipped folder carries one "
                                "(python scripts/ship_model.py --write-manifest)")  # fmt: skip
        return None
    reason = problem(model_dir, manifest)
    if reason:
        raise ManifestError(reason)
    return manifest


def listed_sha256(model_dir: Path, name: str) -> str | None:
    """The sha256 the manifest records for `name`, None where there is no manifest or it does not list the file."""
    manifest = read_manifest(model_dir)
    return manifest["files"].get(name, {}).get("sha256") if manifest else None


class ManifestWatch:
    """The folder checked again on demand at the cost of a few `stat` calls: a file whose size or modification time
    moved is hashed again; a failure stays a failure (a folder changed under a running server is not trusted again
    by putting a file back)."""

    def __init__(self, model_dir: Path, manifest: dict):
        self.model_dir, self.manifest = Path(model_dir), manifest
        self._seen = self._stats()
        self._failure: str | None = None
        self._lock = threading.Lock()

    def _stats(self) -> dict:
        seen = {}
        for name in SCORED_FILES:
            try:
                stat = (self.model_dir / name).stat()
                seen[name] = (stat.st_size, stat.st_mtime_ns)
            except OSError:
                seen[name] = None
        return seen

    def problem(self) -> str | None:
        with self._lock:
            if self._failure is None:
                now = self._stats()
                if now != self._seen:
                    changed = {name for name in now if now[name] != self._seen.get(name)}
                    self._failure = problem(self.model_dir, self.manifest, changed)
                    self._seen = now
            return self._failure
