"""A model folder's manifest: the sha256 and size of every file that changes a score or a label, written when the
folder is shipped and verified whenever it is loaded, so that an edited threshold, calibration, preprocessing,
tokenizer, graph or weight file is refused in one line instead of served.

    python scripts/ship_model.py --write-manifest                     # (re)write model/manifest.json
    python scripts/ship_model.py --write-manifest --output model-fast

Which files a folder lists, and the manifest's own name, are the folder format's (`ModelFolder.LISTED_FILES`,
`ModelFolder.MANIFEST` in toxiclf.inference.model_folder): every function here takes that `folder`.
A folder without a manifest loads (a checkpoint fresh from training, whose files nobody vouched for), with its
self-check saying so; a shipped folder (model/, model-fast/) without one is refused. `ManifestWatch` re-checks a
loaded folder cheaply for /healthz: the size and modification time of each file, and the sha256 of those that
changed.
"""

import json
import os
import threading

from ..paths import sha256_file


class ManifestError(ValueError):
    """A model folder that does not match its manifest (one line naming the file)."""


def write_manifest(folder) -> dict:
    """Record the sha256 and size of each of the folder's listed files that it holds."""
    root = folder.path
    files = {name: {"sha256": sha256_file(root / name), "size": (root / name).stat().st_size}
             for name in folder.LISTED_FILES if (root / name).is_file()}  # fmt: skip
    manifest = {
        "about": "sha256 and size of every file of this folder that changes a score or a label; loading verifies "
        "them and refuses a folder that differs (toxiclf.inference.manifest).",
        "command": "python scripts/ship_model.py --write-manifest",
        "files": files,
    }
    staged = root / f".{folder.MANIFEST}.new"
    staged.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(staged, root / folder.MANIFEST)
    return manifest


def read_manifest(folder) -> dict | None:
    """The folder's manifest, None where it has none; ManifestError for one that cannot be read."""
    path = folder.path / folder.MANIFEST
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


def problem(folder, manifest: dict, changed=None) -> str | None:
    """Why the folder differs from `manifest` (one line naming the file), or None. `changed`: the names to hash
    (default: all listed); the others are taken as checked."""
    root, listed = folder.path, manifest["files"]
    for name in folder.LISTED_FILES:
        if name not in listed and (root / name).is_file() and not name.startswith(f"{folder.ONNX_DIR}/"):
            return f"{root / name} is not in {folder.MANIFEST}: it was added after the folder was shipped"
    for name, entry in listed.items():
        path = root / name
        if not path.is_file():
            return f"{path} is missing; {folder.MANIFEST} lists it"
        if changed is not None and name not in changed:
            continue
        if path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            return f"{path} differs from the one shipped ({folder.MANIFEST}): changed since, refused"
    return None


def verify(folder, required: bool = False) -> dict | None:
    """The folder's manifest once every listed file matches it; None for a folder without one (ManifestError if
    `required`); ManifestError naming the first file that differs."""
    manifest = read_manifest(folder)
    if manifest is None:
        if required:
            raise ManifestError(f"{folder.path / folder.MANIFEST} is missing: a shipped folder carries one "
                                "(python scripts/ship_model.py --write-manifest)")  # fmt: skip
        return None
    reason = problem(folder, manifest)
    if reason:
        raise ManifestError(reason)
    return manifest


class ManifestWatch:
    """The folder checked again on demand at the cost of a few `stat` calls: a file whose size or modification time
    moved is hashed again; a failure stays a failure (a folder changed under a running server is not trusted again
    by putting a file back)."""

    def __init__(self, folder, manifest: dict):
        self.folder, self.manifest = folder, manifest
        self._seen = self._stats()
        self._failure: str | None = None
        self._lock = threading.Lock()

    def _stats(self) -> dict:
        seen = {}
        for name in self.folder.LISTED_FILES:
            try:
                stat = (self.folder.path / name).stat()
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
                    self._failure = problem(self.folder, self.manifest, changed)
                    self._seen = now
            return self._failure
