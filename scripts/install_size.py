"""The prediction install against the full one, each in a fresh venv -> results/install_size.json.

    python scripts/install_size.py --update-readme

Installs this checkout twice with pip, `.` (the core: prediction) and `.[all]` (serving, training, Ray, tests), each
into a new virtual environment, and records the wall time of the install, the size of what it put on disk and its
largest packages; then proves the core install predicts with the shipped model (`load_classifier().predict`) and
that PyTorch is not in it. Wheels come from whatever index pip is configured with (times include downloads).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the lab (research/) lives beside the package

from research.report import replace_doc_section
from toxiclf.paths import REPO_ROOT, RESULTS_DIR
from toxiclf.provenance import git_commit

INSTALLS = {"core (prediction)": ".", "everything ([all])": ".[all]"}
PROBE = (
    "import importlib.util, json; from toxiclf import load_classifier; c = load_classifier(); "
    "print(json.dumps({'backend': c.backend, 'prediction': c.predict('you are an idiot'), "
    "'torch_installed': importlib.util.find_spec('torch') is not None}))"
)


def folder_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def install(spec: str, folder: Path) -> dict:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    started = time.perf_counter()
    subprocess.run([str(python), "-m", "pip", "install", "-q", spec], cwd=REPO_ROOT, check=True)
    seconds = time.perf_counter() - started
    site = next(folder.glob("lib/python*/site-packages"))
    packages = sorted(((folder_mib(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)
    return {
        "install_s": round(seconds, 1),
        "site_packages_mib": round(folder_mib(site), 1),
        "largest": {name: round(mib, 1) for mib, name in packages[:6]},
        "python": python,
    }


def markdown(report: dict) -> str:
    rows = [
        f"| `pip install {spec}` | {r['site_packages_mib']:,.0f} MiB | {r['install_s']:.0f} s | "
        f"{', '.join(f'{name} {mib:,.0f}' for name, mib in list(r['largest'].items())[:4])} |"
        for spec, r in ((INSTALLS[name], r) for name, r in report["installs"].items())
    ]
    core = report["installs"]["core (prediction)"]
    return "\n".join(
        [
            "| install | on disk | time | largest packages (MiB) |",
            "|---|---:|---:|---|",
            *rows,
            "",
            f"Measured by `python scripts/install_size.py` in fresh venvs ({report['measured_at'][:10]}, "
            f"`results/install_size.json`); the core install predicted with the shipped model through "
            f"{core['probe']['backend']} with PyTorch {'installed' if core['probe']['torch_installed'] else 'absent'}.",
            "",
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "install_size.json")
    parser.add_argument("--update-readme", action="store_true", help="rewrite the README's install table")
    args = parser.parse_args(argv)
    installs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in INSTALLS.items():
            installs[name] = install(spec, Path(tmp) / name.split()[0])
            print(f"{name}: {installs[name]['site_packages_mib']:.0f} MiB in {installs[name]['install_s']:.0f} s",
                  flush=True)  # fmt: skip
        core = installs["core (prediction)"]
        probe = subprocess.run([str(core.pop("python")), "-c", PROBE], capture_output=True, text=True, cwd=tmp)
        if probe.returncode != 0:
            raise SystemExit(f"the core install does not predict:\n{probe.stderr[-2000:]}")
        core["probe"] = json.loads(probe.stdout.strip().splitlines()[-1])
        installs["everything ([all])"].pop("python")
    report = {"installs": installs, "git_commit": git_commit(), "python": sys.version.split()[0],
              "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": "python scripts/install_size.py"}  # fmt: skip
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    if args.update_readme:
        replace_doc_section("install", markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
