"""Ship a trained checkpoint as model/ (toxiclf.shipping.ship): see `python scripts/ship_model.py --help`.

python scripts/ship_model.py --checkpoint outputs/student-odd --results results/student-odd.json
python scripts/ship_model.py --best
"""

from toxiclf.shipping.ship import main

if __name__ == "__main__":
    main()
