"""Ship a trained checkpoint as model/ (toxiclf.shipping): see `python scripts/ship_model.py --help`.

python scripts/ship_model.py --checkpoint outputs/student-odd --results results/student-odd.json
python scripts/ship_model.py --best
"""

from toxiclf.shipping import main

if __name__ == "__main__":
    main()
