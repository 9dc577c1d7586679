"""python -m toxiclf.training recipes/shipped.json [--dry-run] [--run-dir outputs]: a recipe and its parents."""

import sys

from .recipes import main

sys.exit(main())
