"""Development server: `cd app && python app.py`, then open http://127.0.0.1:5000.

For production use the WSGI server instead: `python -m app.serve` (waitress).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from app/: make the project importable

from app import create_app  # noqa: E402

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=5000, debug=False)
