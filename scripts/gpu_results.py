"""What a GPU run sends back, packed and unpacked (ops.gpu_results): `python scripts/gpu_results.py --help`.

Runs on the GPU machine too, where the project is not installed: the repository root goes on the path here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.gpu_results import main  # noqa: E402

if __name__ == "__main__":
    main()
