"""Ship a trained checkpoint as model/ (toxiclf.shipping.ship): see `python scripts/ship_model.py --help`.

python scripts/ship_model.py --checkpoint outputs/student-odd --results results/student-odd.json
python scripts/ship_model.py --best
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the lab (research/) lives beside the package

from research.ship_choice import best_fast_student, best_small_model  # noqa: E402
from toxiclf.shipping.ship import main  # noqa: E402

if __name__ == "__main__":
    main(choose_best=best_small_model, choose_best_fast=best_fast_student)
