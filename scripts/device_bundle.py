"""What a bare GPU machine lacks, packed in parts (ops.device_bundle): `python scripts/device_bundle.py --help`.

Runs before the project is installed there (`python3 scripts/device_bundle.py install ...`): the repository
root goes on the path here, and ops.device_bundle needs the standard library alone.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.device_bundle import main  # noqa: E402

if __name__ == "__main__":
    main()
