"""Run a named plan of steps: skip what is finished, log, time limits, failure policy.

    python -m research.runner cpu --run-dir outputs                  # scripts/cpu_full_run.sh starts this
    python -m research.runner gpu train evaluate --run-dir outputs/gpu   # scripts/gpu_full_run.sh calls this

The recipes come from research.experiments (the plans name models, the registry says how each is trained and where
its servable checkpoint is). A training step is finished when its run_config.json exists, so a rerun after a
killed session resumes the unfinished step (the trainer picks up its last checkpoint) and skips the others.

The two plans differ in what a failure means. The CPU queue runs for hours in the background: each step's output
goes to the one log, and a failure stops the queue (its later steps need the failed one). A GPU call has a hard
time limit: each step logs to its own file (printed only when it fails), a failed or stopped training is reported
and the phase goes on to score and pack the others, and no training starts (and one running is stopped) past
--train-until-s, so that the call still evaluates and packs what it finished.
"""

import argparse
import functools
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from research.experiments import (
    ALL_GPU_PHASES,
    CPU_FLAGS,
    CPU_PLAN,
    ENSEMBLE_TEACHERS,
    EXPERIMENTS,
    GPU_DRY_RUN_FLAGS,
    GPU_PHASES,
    SMALL_PLAN,
    SMALL_STUDENT_FLAGS,
    SOFT_LABELS_STEP,
    PlanFlags,
)
from toxiclf.evaluation.comparisons import SCORES_SUBDIR
from toxiclf.evaluation.results_files import SERVED_SUFFIX, measured_on
from toxiclf.paths import RESULTS_DIR

STOP_GRACE_SECONDS = 20  # a training stopped at the time limit gets SIGINT (it stops as after Ctrl-C), then this


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Runner:
    """Runs steps in order; `failed` lists the ones that failed or were stopped (GPU policy: carry on)."""

    python: str
    log_dir: Path | None = None  # per-step logs (GPU); None: the step's output goes to ours (CPU)
    keep_going: bool = False
    train_until: float | None = None  # time.monotonic() after which no training starts
    started: float = field(default_factory=time.monotonic)
    failed: list = field(default_factory=list)

    def step(self, name: str, finished: Path | None, command: list[str], training: bool = False) -> bool:
        """Run `command` (the step's Python is ours) unless `finished` exists; True when it ran and succeeded."""
        if finished is not None and finished.exists():
            print(f"== skip {name}" + ("" if self.log_dir else f" (finished: {finished})"), flush=True)
            return False
        limit = None
        if training and self.train_until is not None:
            limit = self.train_until - time.monotonic()
            if limit <= 30:
                print(f"== skip {name}: past the time limit for trainings (TRAIN_UNTIL_S)", flush=True)
                return False
        if not self.log_dir:
            print(f"== {now()} start {name}", flush=True)
        t0 = time.monotonic()
        code = self._run([self.python, *command], name, limit)
        if code != 0:
            if self.log_dir:
                print("".join((self.log_dir / f"{name}.log").read_text().splitlines(keepends=True)[-40:]), end="")
            print(f"== {name} failed (exit {code})", file=sys.stderr, flush=True)
            self.failed.append(name)
            if not self.keep_going:
                raise SystemExit(code)
            return False
        seconds = round(time.monotonic() - t0)
        if self.log_dir:
            print(f"== {name}: {seconds} s (phase so far {round(time.monotonic() - self.started)} s)", flush=True)
        else:
            print(f"== {now()} done {name} in {seconds} s", flush=True)
        return True

    def _run(self, command: list[str], name: str, limit: float | None) -> int:
        log = open(self.log_dir / f"{name}.log", "w") if self.log_dir else None  # noqa: SIM115 - closed below
        try:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT if log else None)
            try:
                return process.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGINT)  # the trainer saves and stops, as after Ctrl-C
                try:
                    process.wait(timeout=STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                return 124
        finally:
            if log:
                log.close()


def training_command(name: str, run_dir: Path, plan_flags: list[str]) -> list[str]:
    return [*EXPERIMENTS[name].command(run_dir), *plan_flags]


def run_cpu(args) -> int:
    """Train each model of the CPU plans and score it on the whole test split right after (stop on failure)."""
    runner = Runner(args.python)
    done = args.run_dir / "cpu_full_run.done"  # markers of finished evaluations (they leave no file of their own)
    done.mkdir(parents=True, exist_ok=True)
    flags = [*CPU_FLAGS.training, "--save-steps", str(args.save_steps)]
    plan = CPU_PLAN + SMALL_PLAN  # the table's missing rows first, then the smaller students

    def trained(name: str) -> bool:
        return (args.run_dir / name / "run_config.json").exists()

    # A model whose results are committed is not trained again on a new machine (its weights are not kept), unless
    # this run trained it already (then it is scored); the teacher only where a model still to train copies it.
    todo = [n for n in plan if n != "teacher" and (trained(n) or not (args.results_dir / f"{n}.json").exists())]
    print(f"== {now()} the CPU plan on {os.cpu_count()} cores: {' '.join(todo) or 'nothing left'}", flush=True)
    for name in plan:
        if name != "teacher" and name not in todo:
            print(f"== skip {name} (scored: {args.results_dir / name}.json)", flush=True)
    if any(EXPERIMENTS[n].needs_teacher and not trained(n) for n in todo):
        runner.step("teacher", args.run_dir / "teacher" / "run_config.json",
                    training_command("teacher", args.run_dir, flags))  # fmt: skip
    for name in todo:
        recipe = SMALL_STUDENT_FLAGS.training if name in SMALL_PLAN else flags  # theirs fixes the checkpoint steps
        runner.step(name, args.run_dir / name / "run_config.json", training_command(name, args.run_dir, recipe))
        checkpoint = EXPERIMENTS[name].checkpoint(args.run_dir)
        if runner.step(f"evaluation of {name}", done / f"eval-{name}",
                       ["run_eval.py", "--checkpoints", f"{name}={checkpoint}", "--no-baselines"]):  # fmt: skip
            (done / f"eval-{name}").touch()
        served = name + SERVED_SUFFIX
        if EXPERIMENTS[name].served_score and runner.step(
            f"evaluation of {name} as served",
            done / f"eval-{served}",
            ["run_eval.py", "--checkpoints", f"{served}={checkpoint}", "--no-baselines", "--backend", "onnx-int8"],
        ):
            (done / f"eval-{served}").touch()
    print(f"== {now()} all steps finished", flush=True)
    return 0


def run_gpu(args) -> int:
    """The named phases of the GPU run (see scripts/gpu_full_run.sh); failures are reported, the phase goes on."""
    logs = args.run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    until = time.monotonic() + args.train_until_s if args.train_until_s is not None else None
    runner = Runner(args.python, log_dir=logs, keep_going=True, train_until=until)
    for phase_name in args.phases:
        phase = GPU_PHASES[phase_name]
        plan = GPU_DRY_RUN_FLAGS if args.dry_run else phase.flags
        trains = [n for n in phase.trains if args.only is None or n in args.only]
        scores = [n for n in phase.scores if args.only is None or n in args.only]
        if SOFT_LABELS_STEP in trains and not (args.run_dir / "teacher" / "run_config.json").exists():
            print(f"{phase_name} needs the teacher: run the teacher phase first", file=sys.stderr)
            return 1
        steps = [functools.partial(gpu_training_step, runner, name, args.run_dir, plan) for name in trains]
        if phase.concurrent:
            all_at_once(steps)
        else:
            for step in steps:
                step()
        checkpoints = [f"{name}={EXPERIMENTS[name].checkpoint(args.run_dir)}" for name in scores
                       if scored_since_training(name, args.run_dir, args.results_dir) is False]  # fmt: skip
        if not checkpoints:
            print("== nothing new to evaluate", flush=True)
            continue
        for name in phase.references:
            copy_committed_result(name, RESULTS_DIR, args.results_dir)
        scoring = ["run_eval.py", "--no-baselines", "--no-cost", "--results-dir", str(args.results_dir),
                   *plan.evaluation]  # fmt: skip
        if phase.concurrent:  # one scoring per model, all at once; the paired comparisons need no GPU
            steps = [functools.partial(runner.step, f"evaluation-{spec.split('=')[0]}", None,
                                       [*scoring, "--checkpoints", spec, "--no-comparisons"])
                     for spec in checkpoints]  # fmt: skip
            all_at_once(steps)
        else:
            runner.step(f"evaluation-{checkpoints[0].split('=')[0]}", None, [*scoring, "--checkpoints", *checkpoints])
        which = ["--no-model"] if phase.packs_no_model else ["--model", phase.packs] if phase.packs else []
        runner.step("pack", None, [str(Path("scripts") / "gpu_results.py"), "pack", "--results-dir",
                    str(args.results_dir), "--output", str(args.pack_dir), "--logs",
                    *sorted(glob.glob(str(logs / "*.log"))), *plan.pack, *which])  # fmt: skip
        if phase.concurrent:
            print(f"== then, on any machine: python run_eval.py --compare-only --results-dir {args.results_dir}")
    print(f"== {now()} phases {' '.join(args.phases)} done in {round(time.monotonic() - runner.started)} s")
    if runner.failed:
        print(f"== failed or stopped: {' '.join(runner.failed)}", file=sys.stderr)
        return 1
    return 0


def all_at_once(steps) -> None:
    """Call each step (a function that waits on its subprocess) in a thread of its own; return when all are done."""
    with ThreadPoolExecutor(max_workers=max(len(steps), 1)) as pool:
        list(pool.map(lambda step: step(), steps))


def gpu_training_step(runner: Runner, name: str, run_dir: Path, plan: PlanFlags) -> None:
    if name == SOFT_LABELS_STEP:
        soft_labels = run_dir / "soft_labels.npz"
        teachers = [str(run_dir / teacher) for teacher in ENSEMBLE_TEACHERS]
        runner.step("soft labels", soft_labels, ["-m", "toxiclf.training.soft_labels", "--teachers", *teachers,
                    "--output", str(soft_labels), "--batch-size", "256", *plan.soft_labels])  # fmt: skip
        return
    experiment = EXPERIMENTS[name]
    extra = (*(plan.mitigating if experiment.mitigates else ()),
             *(plan.templated if experiment.adds_templated_rows else ()))  # fmt: skip
    runner.step(name, run_dir / name / "run_config.json",
                training_command(name, run_dir, [*plan.training, *extra]), training=True)  # fmt: skip


def scored_since_training(name: str, run_dir: Path, results_dir: Path) -> bool | None:
    """None: not trained; False: trained and not scored since (an earlier loan's results, carried in the results
    folder, belong to other weights); True: its results were measured on the weights it holds now."""
    if not (run_dir / name / "run_config.json").exists():
        return None
    path = results_dir / f"{name}.json"
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return measured_on(result, EXPERIMENTS[name].checkpoint(run_dir))


def copy_committed_result(name: str, committed: Path, results_dir: Path) -> None:
    """A committed results file and its test scores, into results_dir: run_eval.py compares the models it scores
    there with it (the paired comparisons need the scores; a test split of other rows leaves them out)."""
    for relative in (f"{name}.json", f"{SCORES_SUBDIR}/{name}.npy", f"{SCORES_SUBDIR}/{name}.json"):
        (results_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(committed / relative, results_dir / relative)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    plans = parser.add_subparsers(dest="plan", required=True)
    cpu = plans.add_parser("cpu", help="the CPU queue: train and score each model of experiments.CPU_PLAN")
    cpu.add_argument("--save-steps", type=int, default=400, help="training steps between checkpoints")
    cpu.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where committed results are")
    gpu = plans.add_parser("gpu", help="phases of the GPU run")
    gpu.add_argument("phases", nargs="+", choices=[*GPU_PHASES, "all"])
    gpu.add_argument("--results-dir", type=Path, required=True)
    gpu.add_argument("--pack-dir", type=Path, required=True)
    gpu.add_argument("--dry-run", action="store_true", help="64 training rows, 1 epoch: the CPU check of the run")
    gpu.add_argument("--train-until-s", type=float, help="seconds from now after which no training starts")
    gpu.add_argument("--only", nargs="+", metavar="NAME", help="train and score only these of the phases' models")
    for sub in (cpu, gpu):
        sub.add_argument("--run-dir", type=Path, required=True, help="where the models of this run go")
        sub.add_argument("--python", default=sys.executable, help="the Python that runs each step")
    args = parser.parse_args(argv)
    if args.plan == "gpu" and "all" in args.phases:  # all: train, evaluate, ensemble
        args.phases = [p for phase in args.phases for p in (ALL_GPU_PHASES if phase == "all" else [phase])]
    if args.plan == "gpu" and args.only:
        known = {name for phase in args.phases for name in (*GPU_PHASES[phase].trains, *GPU_PHASES[phase].scores)}
        if unknown := sorted(set(args.only) - known):
            parser.error(f"--only: {', '.join(unknown)} is in none of the phases {' '.join(args.phases)}")
    return run_cpu(args) if args.plan == "cpu" else run_gpu(args)


if __name__ == "__main__":
    sys.exit(main())
