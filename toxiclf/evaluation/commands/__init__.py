"""run_eval.py's subcommands, one module each: its own flags (`arguments`), their checks (`check`) and `run`."""
