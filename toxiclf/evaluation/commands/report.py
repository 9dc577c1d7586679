"""`run_eval.py report`: score nothing; summary.md and the plots (and, with --update-readme, the docs' tables) from
the results files.

    python run_eval.py report --update-readme
"""

import argparse
import logging

logger = logging.getLogger(__name__)

SHARED = ("results", "readme", "section")


def arguments(lab) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)  # only the shared flags


def check(parser, args, lab) -> None:
    pass


def run(args, lab):
    summary = lab.write_report(args.results_dir)
    logger.info("Wrote %s and plots to %s", summary.name, args.results_dir)
    if args.update_readme:
        changed = lab.update_docs(args.results_dir, args.readme_section)
        if changed:
            logger.info("Updated the %s section of %s", args.readme_section, ", ".join(p.name for p in changed))
        else:
            logger.warning("No page has %s markers; nothing updated", args.readme_section)
    print(summary.read_text())
