"""What a GPU run sends back, in few files of bounded size; and its unpacking here, checked by sha256.

    python scripts/gpu_results.py pack --results-dir results/gpu --output PACK_DIR     # on the GPU machine
    python scripts/gpu_results.py unpack PACK_DIR                                       # here

`pack` writes results.tar.gz (the results folder, every run_config.json, the step logs), the best 6-layer
student by validation ROC-AUC or the one --model names (fp16 weights, tokenizer, run records) as a tar cut into
parts of at most --part-mib, and pack.json with the sha256 of each file and of the whole tar; with --no-model, the
results alone (a phase whose models are not shipped, e.g. the smaller students' replicate). `unpack` checks all
of them, puts the results into results/gpu/ (a table of its own: GPU epochs are not CPU epochs) or --results-dir,
and the student where its results file says it was trained (e.g. outputs/gpu/minilm-l6), where
`scripts/ship_model.py --best` finds the pair.
"""

import argparse
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

from research.ship_choice import best_small_model
from toxiclf.paths import GPU_RESULTS_DIR, sha256_file
from toxiclf.shipping.ship import ShipError, fp16_weights

REPO_ROOT = Path(__file__).resolve().parent.parent

PACK_FILE, RESULTS_ARCHIVE, STUDENT_PART = "pack.json", "results.tar.gz", "student.tar.part{:02d}"
PART_MIB = 15  # under a 16 MiB limit per returned file
STUDENT_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "run_config.json",
    "run_args.json",
)


class PackError(Exception):
    """A pack that is missing, altered or cannot be made; one line for the user."""


def student_tar(checkpoint: Path) -> bytes:
    """The checkpoint as an uncompressed tar with fp16 weights (fp16 weights do not compress)."""
    half = fp16_weights(checkpoint / "model.safetensors")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("model.safetensors")
        info.size = len(half)
        tar.addfile(info, io.BytesIO(half))
        for name in STUDENT_FILES:
            if (checkpoint / name).exists():
                tar.add(checkpoint / name, arcname=name)
    return buffer.getvalue()


def packed_model(results_dir: Path, model: str | None, allow_subset: bool) -> tuple[Path, Path]:
    """(checkpoint, results file): the named model's, or the best small model's by validation ROC-AUC."""
    if model is None:
        try:
            return best_small_model((results_dir,), full_data_only=not allow_subset)
        except ShipError as error:
            raise PackError(str(error)) from None
    results_file = results_dir / f"{model}.json"
    if not results_file.is_file():
        raise PackError(f"{results_file} is missing: run run_eval.py on {model} first")
    checkpoint = REPO_ROOT / json.loads(results_file.read_text())["path"]
    if not (checkpoint / "model.safetensors").is_file():
        raise PackError(f"{checkpoint} holds no model.safetensors")
    return checkpoint, results_file


def pack(
    results_dir: Path,
    output: Path,
    logs: list[Path],
    allow_subset: bool = False,
    model: str | None = None,
    with_model: bool = True,
):
    checkpoint, results_file = packed_model(results_dir, model, allow_subset) if with_model else (None, None)
    output.mkdir(parents=True, exist_ok=True)
    for earlier in output.glob(STUDENT_PART.format(0)[:-2] + "*"):  # a later phase packs anew: no stale part stays
        earlier.unlink()
    with tarfile.open(output / RESULTS_ARCHIVE, "w:gz") as tar:
        tar.add(results_dir, arcname="results")
        for run_config in sorted(checkpoint.parent.glob("*/run_config.json")) if checkpoint else ():
            tar.add(run_config, arcname=f"runs/{run_config.parent.name}/run_config.json")
        for log in logs:
            tar.add(log, arcname=f"logs/{log.name}")
    if checkpoint is None:
        record = {"student": None, "results_archive_sha256": sha256_file(output / RESULTS_ARCHIVE)}
        (output / PACK_FILE).write_text(json.dumps(record, indent=2) + "\n")
        return record
    student = student_tar(checkpoint)
    part_bytes = int(PART_MIB * 2**20)
    parts = {}
    for index, start in enumerate(range(0, len(student), part_bytes)):
        name = STUDENT_PART.format(index)
        (output / name).write_bytes(student[start : start + part_bytes])
        parts[name] = sha256_file(output / name)
    record = {
        "student": json.loads(results_file.read_text())["path"],
        "results_file": results_file.name,
        "student_tar_sha256": hashlib.sha256(student).hexdigest(),
        "student_parts": parts,
        "results_archive_sha256": sha256_file(output / RESULTS_ARCHIVE),
    }
    (output / PACK_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def check(pack_dir: Path, name: str, expected: str) -> Path:
    path = pack_dir / name
    if not path.is_file() or sha256_file(path) != expected:
        raise PackError(f"{path} is missing or altered (sha256 differs from {PACK_FILE}); fetch it again")
    return path


def unpack(pack_dir: Path, results_dir: Path = GPU_RESULTS_DIR, repo_root: Path = REPO_ROOT) -> Path | None:
    """Where the student went (None: a pack of results alone, whose logs go to outputs/<results folder>/logs)."""
    if not (pack_dir / PACK_FILE).is_file():
        raise PackError(f"{pack_dir} has no {PACK_FILE}")
    record = json.loads((pack_dir / PACK_FILE).read_text())
    archive = check(pack_dir, RESULTS_ARCHIVE, record["results_archive_sha256"])
    if record["student"] is None:
        extract_results(archive, results_dir, repo_root / "outputs" / Path(results_dir).name)
        return None
    student = b"".join(check(pack_dir, name, sha).read_bytes() for name, sha in sorted(record["student_parts"].items()))
    if hashlib.sha256(student).hexdigest() != record["student_tar_sha256"]:
        raise PackError("the student's parts do not reassemble into the packed tar (sha256); fetch them again")
    target = repo_root / record["student"]
    if target.resolve().is_relative_to((repo_root / "model").resolve()):
        raise PackError(f"refusing to unpack over {target}: ship it with scripts/ship_model.py instead")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(student)) as tar:
        tar.extractall(target, filter="data")
    extract_results(archive, results_dir, target.parent)
    return target


def extract_results(archive: Path, results_dir: Path, run_dir: Path) -> None:
    """The results folder into results_dir; the run records and logs into run_dir."""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                top, rest = member.name.split("/", 1)
                destination = Path(results_dir) / rest if top == "results" else run_dir / member.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(tar.extractfile(member).read())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    pack_parser = commands.add_parser("pack", help="on the GPU machine: results and the best student")
    pack_parser.add_argument("--results-dir", type=Path, default=GPU_RESULTS_DIR, help="what run_eval.py wrote")
    pack_parser.add_argument("--output", type=Path, required=True, help="folder of the files to send back")
    pack_parser.add_argument("--logs", type=Path, nargs="*", default=[], help="log files to include")
    pack_parser.add_argument("--allow-subset", action="store_true", help="pack a model trained on a row subset")
    which = pack_parser.add_mutually_exclusive_group()
    which.add_argument("--model", help="pack this model of the results folder (default: the best small one)")
    which.add_argument("--no-model", action="store_true", help="pack the results alone")
    unpack_parser = commands.add_parser("unpack", help="here: check and unpack what came back")
    unpack_parser.add_argument("pack_dir", type=Path, help="the folder of the returned files")
    unpack_parser.add_argument("--results-dir", type=Path, default=GPU_RESULTS_DIR, help="where the results go")
    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            record = pack(args.results_dir, args.output, args.logs, args.allow_subset, args.model, not args.no_model)
            if record["student"] is None:
                print(f"Packed the results alone in {RESULTS_ARCHIVE}")
            else:
                print(f"Packed {record['student']} in {len(record['student_parts'])} part(s) and {RESULTS_ARCHIVE}")
        else:
            student = unpack(args.pack_dir, args.results_dir)
            print(f"Unpacked {'no student' if student is None else f'the student to {student}'}; "
                  f"results in {args.results_dir}")  # fmt: skip
    except PackError as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
