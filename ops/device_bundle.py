"""What a bare GPU machine lacks for the full run, packed in parts small enough to travel one per call.

    python scripts/device_bundle.py build                          # -> gpu_bundle/part1, part2, part3
    python scripts/device_bundle.py build --python-version 3.11    # wheels for another Python (the CPU dry run)
    python3 scripts/device_bundle.py install --target outputs/gpu/device   # on the GPU machine; prints env.sh

Part 1 (training): wheels of the libraries a CUDA image with PyTorch, transformers, peft and accelerate usually
lacks (WHEELS), the embedded data file (xz) and the teacher's 4-bit file. Part 2 (MiniLM-L6): all-MiniLM-L6-v2
with fp16 weights. Part 3 (the smaller students, alone): the wheels and the data again, and the shipped model's
weights (xz), which `install` puts back into model/ where a checkout travels without its tracked weights. Each
part has a MANIFEST.json (bytes and sha256 of every file); `build` refuses a part over --part-limit-mib before any
GPU time is spent, and `install` checks every checksum first. `install` uses the standard library alone, since
what it installs (platformdirs, datasets) is what the project's imports need.
"""

import argparse
import hashlib
import json
import lzma
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = REPO_ROOT / "gpu_bundle"
MANIFEST = "MANIFEST.json"
# Not in a CUDA image with torch, transformers, peft, accelerate, pandas, pyarrow and scikit-learn; the versions
# are the ones installed here, so that the GPU machine runs what the tests ran.
WHEELS = ("datasets", "dill", "multiprocess", "platformdirs")
# What the wheels need and the image is expected to hold: `install` imports each and names what is missing.
EXPECTED_ON_MACHINE = (
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "pandas",
    "pyarrow",
    "sklearn",
    "xxhash",
    "fsspec",
    "huggingface_hub",
    "yaml",
    "tqdm",
    "safetensors",
    "tokenizers",
    "sentencepiece",
)
DATA_FILE, TEACHER_FILE, MINILM_DIR = "clean_data.csv.xz", "e5-small-enpt-q4.bin", "minilm-l6"
SHIPPED_WEIGHTS_FILE = "shipped-model.safetensors.xz"  # part 3: the students' init, model/model.safetensors
PART_LIMIT_MIB = 60
MANYLINUX = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


class BundleError(Exception):
    """Why a bundle cannot be built or installed; one line for the user."""


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def mib(n_bytes: int) -> float:
    return n_bytes / 2**20


# ---- build (here, in the project's environment) ----


def download_wheels(target: Path, python_version: str) -> None:
    pins = [f"{name}=={version(name)}" for name in WHEELS]
    platforms = [option for tag in MANYLINUX for option in ("--platform", tag)]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--no-deps",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        *platforms,
        "-d",
        str(target),
        *pins,
    ]
    if subprocess.run(command).returncode != 0:
        raise BundleError(f"pip could not download {' '.join(pins)} for Python {python_version}")


def xz(source: Path, target: Path, preset: int) -> None:
    with open(source, "rb") as raw, lzma.open(target, "wb", preset=preset) as packed:
        shutil.copyfileobj(raw, packed, 1 << 20)


def unxz(source: Path, target: Path, expected_sha256: str) -> None:
    """Decompress next to `target` and move it into place only once its checksum is the manifest's."""
    partial = target.with_name(target.name + ".partial")
    with lzma.open(source) as packed, open(partial, "wb") as raw:
        shutil.copyfileobj(packed, raw, 1 << 20)
    if sha256_file(partial) != expected_sha256:
        partial.unlink()
        raise BundleError(f"{source} does not decompress to the file its manifest names (sha256)")
    partial.replace(target)


def compress_data(target: Path, preset: int = 6) -> None:
    from toxiclf.data.splits import EMBEDDED_SHA256, embedded_csv_path

    source = embedded_csv_path()
    if sha256_file(source) != EMBEDDED_SHA256:
        raise BundleError(f"{source} is not the embedded data file (checksum)")
    xz(source, target, preset)


def shipped_weights() -> Path:
    from toxiclf.paths import SHIPPED_MODELS

    return REPO_ROOT / SHIPPED_MODELS["default"].folder / "model.safetensors"


def compress_shipped_weights(target: Path, preset: int = 6) -> None:
    if not shipped_weights().is_file():
        raise BundleError(f"{shipped_weights()} is missing: part 3 carries the shipped model's weights")
    xz(shipped_weights(), target, preset)


def copy_teacher(target: Path) -> None:
    from toxiclf.training.e5 import MODEL_SHA256, package_model_path

    source = package_model_path()
    if sha256_file(source) != MODEL_SHA256:
        raise BundleError(f"{source} is not the embedded teacher file (checksum)")
    shutil.copy(source, target)


def minilm_fp16(target: Path) -> None:
    """The embedded MiniLM-L6 with fp16 weights (half the bytes; training loads them back as fp32)."""
    from toxiclf.shipping.ship import fp16_weights
    from toxiclf.training.models import resolve_model

    source = Path(resolve_model("minilm-l6"))
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(fp16_weights(source / "model.safetensors"))
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(source / name, target / name)


def write_manifest(part: Path, sources: dict) -> dict:
    files = {
        str(path.relative_to(part)): {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
        for path in sorted(part.rglob("*"))
        if path.is_file()
    }
    # install checks the decompressed files too
    if DATA_FILE in files:
        from toxiclf.data.splits import EMBEDDED_SHA256

        files[DATA_FILE]["contents_sha256"] = EMBEDDED_SHA256
    if SHIPPED_WEIGHTS_FILE in files:  # and where it goes: install runs before toxiclf.paths can be imported
        files[SHIPPED_WEIGHTS_FILE]["contents_sha256"] = sha256_file(shipped_weights())
        files[SHIPPED_WEIGHTS_FILE]["restores"] = shipped_weights().relative_to(REPO_ROOT).as_posix()
    manifest = {"part": part.name, "bytes": sum(f["bytes"] for f in files.values()), "files": files, **sources}
    (part / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def build(bundle: Path, python_version: str, part_limit_mib: float, preset: int = 6) -> list[dict]:
    partial = bundle.with_name(bundle.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    part1, part2, part3 = partial / "part1", partial / "part2", partial / "part3"
    (part1 / "wheels").mkdir(parents=True)
    download_wheels(part1 / "wheels", python_version)
    compress_data(part1 / DATA_FILE, preset)
    copy_teacher(part1 / TEACHER_FILE)
    minilm_fp16(part2 / MINILM_DIR)
    shutil.copytree(part1 / "wheels", part3 / "wheels")
    shutil.copy(part1 / DATA_FILE, part3 / DATA_FILE)
    compress_shipped_weights(part3 / SHIPPED_WEIGHTS_FILE, preset)
    training = {
        "python_version": python_version,
        "wheels": {n: version(n) for n in WHEELS},
        "expected_on_machine": list(EXPECTED_ON_MACHINE),
    }
    manifests = [
        write_manifest(part1, training),
        write_manifest(part2, {"python_version": python_version}),
        write_manifest(part3, training),
    ]
    too_big = [m for m in manifests if mib(m["bytes"]) > part_limit_mib]
    if too_big:
        shutil.rmtree(partial)
        raise BundleError(
            ", ".join(f"{m['part']} is {mib(m['bytes']):.1f} MiB" for m in too_big)
            + f", over the {part_limit_mib:g} MiB a part may hold; nothing written"
        )
    shutil.rmtree(bundle, ignore_errors=True)
    partial.rename(bundle)
    return manifests


# ---- install (on the GPU machine: standard library only) ----


def verified_parts(bundle: Path) -> list[tuple[Path, dict]]:
    """The parts present in `bundle`, each checked file by file against its manifest."""
    parts = []
    for manifest_path in sorted(bundle.glob(f"part*/{MANIFEST}")):
        part, manifest = manifest_path.parent, json.loads(manifest_path.read_text())
        for name, expected in manifest["files"].items():
            path = part / name
            if (
                not path.is_file()
                or path.stat().st_size != expected["bytes"]
                or sha256_file(path) != expected["sha256"]
            ):
                raise BundleError(f"{path} is missing or differs from {manifest_path}; copy the part again")
        parts.append((part, manifest))
    if not parts:
        raise BundleError(f"no bundle part in {bundle}; run `python scripts/device_bundle.py build` first")
    return parts


def missing_modules(names) -> list[str]:
    import importlib.util

    return [name for name in names if importlib.util.find_spec(name) is None]


def install(bundle: Path, target: Path) -> Path:
    """Install the parts present; write `target/env.sh` with the variables that point the project at them."""
    target.mkdir(parents=True, exist_ok=True)
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOXICLF_CACHE": str((target / "cache").resolve())}
    for part, manifest in verified_parts(bundle):
        if (part / "wheels").is_dir():
            site = target / "site"
            command = [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--no-deps",
                "--no-compile",
                "--no-cache-dir",
                "--upgrade",
                "--target",
                str(site),
                *map(str, (part / "wheels").glob("*.whl")),
            ]
            if subprocess.run(command).returncode != 0:
                raise BundleError(f"pip could not install the wheels of {part}")
            env["PYTHONPATH"] = f"{site.resolve()}:{REPO_ROOT}"
            missing = missing_modules(manifest.get("expected_on_machine", ()))
            if missing:
                raise BundleError(f"this machine lacks {', '.join(missing)}, which the bundle expects to find")
        if DATA_FILE in manifest["files"]:
            data = target / DATA_FILE.removesuffix(".xz")
            expected = manifest["files"][DATA_FILE]["contents_sha256"]
            if not data.exists() or sha256_file(data) != expected:
                unxz(part / DATA_FILE, data, expected)
            env["TOXICLF_DATA_CSV"] = str(data.resolve())
        if SHIPPED_WEIGHTS_FILE in manifest["files"]:
            restore_shipped_weights(part / SHIPPED_WEIGHTS_FILE, manifest["files"][SHIPPED_WEIGHTS_FILE])
        if TEACHER_FILE in manifest["files"]:
            env["TOXICLF_E5_FILE"] = str((part / TEACHER_FILE).resolve())
        if f"{MINILM_DIR}/config.json" in manifest["files"]:
            env["TOXICLF_MINILM_DIR"] = str((part / MINILM_DIR).resolve())
    env_file = target / "env.sh"
    # Parts arrive one per call: keep what an earlier call installed, add what this one brought.
    earlier = env_file.read_text().splitlines() if env_file.exists() else []
    lines = [line for line in earlier if line.split("=", 1)[0].removeprefix("export ") not in env]
    env_file.write_text("\n".join(lines + [f"export {key}='{value}'" for key, value in env.items()]) + "\n")
    return env_file


def restore_shipped_weights(packed: Path, entry: dict) -> None:
    """Put the shipped weights back where a checkout without them lacks them; never over other weights."""
    weights = REPO_ROOT / entry["restores"]
    if not weights.exists():
        unxz(packed, weights, entry["contents_sha256"])
    elif sha256_file(weights) != entry["contents_sha256"]:
        raise BundleError(f"{weights} differs from the weights in {packed.parent.name}: build the bundle again")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="fill the bundle folder (here)")
    build_parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python (default 3.12)")
    build_parser.add_argument("--part-limit-mib", type=float, default=PART_LIMIT_MIB, help="largest part allowed")
    build_parser.add_argument(
        "--xz-preset", type=int, default=6, choices=range(10), help="data compression (0: fast, for a dry run)"
    )
    install_parser = commands.add_parser("install", help="install the parts present (on the GPU machine)")
    install_parser.add_argument("--target", type=Path, required=True, help="folder for the wheels, data and env.sh")
    for sub in (build_parser, install_parser):
        sub.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="the bundle folder (default gpu_bundle)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            for manifest in build(args.bundle, args.python_version, args.part_limit_mib, args.xz_preset):
                print(
                    f"{args.bundle.name}/{manifest['part']}: {mib(manifest['bytes']):.1f} MiB, "
                    f"{len(manifest['files'])} files"
                )
        else:
            print(install(args.bundle, args.target))
    except BundleError as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
