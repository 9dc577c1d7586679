"""Milliseconds per text of each preprocessing step, on texts of 1,000, 10,000 and 100,000 characters of several
shapes (toxiclf.inference.preprocessing.step_timings): every step must be linear in the text.

    python scripts/preprocessing_bench.py          # -> results/preprocessing_speed.json
"""

import argparse
import json
import logging
import platform

from toxiclf.inference.preprocessing import step_timings
from toxiclf.paths import RESULTS_DIR

logger = logging.getLogger(__name__)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=str(RESULTS_DIR / "preprocessing_speed.json"), help="JSON file to write")
    parser.add_argument("--repeats", type=int, default=5, help="timings per step, shape and length (the median)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO)
    lengths = (1_000, 10_000, 100_000)
    timings = step_timings(lengths=lengths, repeats=args.repeats)
    ratios = {step: {shape: round(ms[100_000] / ms[1_000], 1) for shape, ms in shapes.items()}
              for step, shapes in timings.items()}  # fmt: skip
    record = {
        "about": "Median milliseconds per call of each preprocessing step by text shape and length in characters; "
        "ratio: 100,000 characters against 1,000 (linear: about 100; the test's bound is 150).",
        "command": "python scripts/preprocessing_bench.py",
        "machine": {"processor": platform.processor() or platform.machine(), "python": platform.python_version()},
        "ms": {
            s: {k: {str(n): round(v, 4) for n, v in by_length.items()} for k, by_length in shapes.items()}
            for s, shapes in timings.items()
        },  # fmt: skip
        "ratio_100k_to_1k": ratios,
        "worst_ratio": max(r for shapes in ratios.values() for r in shapes.values()),
    }
    with open(args.output, "w") as out:
        out.write(json.dumps(record, indent=2) + "\n")
    logger.info("Worst ratio 100,000 / 1,000 characters: %.1f; wrote %s", record["worst_ratio"], args.output)


if __name__ == "__main__":
    main()
