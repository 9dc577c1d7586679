import struct

import numpy as np
import pytest
from e5_engine import E5Engine, compiler

from toxiclf.training.e5 import ConversionError, convert, dequantize_q4_0, package_model_path, parse_e5_file


def q4_block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block: fp16 scale, then byte j = nibble j (low) | nibble j+16 (high)."""
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_dequantize_matches_the_format_by_hand():
    nibbles = list(range(16)) + list(range(15, -1, -1))
    raw = q4_block(0.5, nibbles) + q4_block(-2.0, [8] * 31 + [0])
    values = dequantize_q4_0(raw, rows=1, cols=64)
    expected = [(n - 8) * 0.5 for n in nibbles] + [0.0] * 31 + [(0 - 8) * -2.0]
    np.testing.assert_array_equal(values[0], np.array(expected, dtype=np.float32))


def test_bad_magic_is_refused():
    with pytest.raises(ConversionError, match="bad magic"):
        parse_e5_file(b"GGUF" + bytes(64))


def test_checksum_mismatch_is_refused(tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(b"E5S1" + bytes(64))
    with pytest.raises(ConversionError, match="checksum mismatch"):
        convert(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


SENTENCES = [
    "Then go to the village pump and suggest they change the language.",
    "You are a complete idiot and should be banned from editing!!",
    "Olá, tudo bem? Não concordo com a edição deste artigo.",
    "  Multiple   spaces\tand\nnewlines, café naïve ½ ﬁ “quotes” ＦＵＬＬ width",
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    return convert(package_model_path(), tmp_path_factory.mktemp("e5") / "e5-small")


@pytest.mark.embedded
def test_converted_folder_loads_as_a_classifier_offline(converted):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(converted, num_labels=2)
    assert model.config.num_hidden_layers == 12 and model.config.hidden_size == 384
    assert model.config.vocab_size == 47284


@pytest.mark.embedded
@pytest.mark.skipif(compiler() is None, reason="needs a C compiler to build the package's e5.c")
def test_conversion_matches_the_packages_c_engine(converted, tmp_path):
    import torch
    from transformers import AutoModel, AutoTokenizer

    source = package_model_path()
    engine = E5Engine(source.parent, source, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(converted)
    model = AutoModel.from_pretrained(converted, add_pooling_layer=False).eval()
    for sentence in SENTENCES:
        text = "passage: " + sentence  # the engine embeds passages with this e5 prefix
        assert tokenizer(text)["input_ids"] == engine.token_ids(text), sentence
        with torch.no_grad():
            hidden = model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0]
        ours = hidden.mean(0) / hidden.mean(0).norm()  # e5 pooling: mean over all tokens, L2-normalised
        cosine = float(np.dot(ours.numpy(), engine.embed_passage(sentence)))
        # not 1.0: the engine also quantizes activations to int8
        assert cosine >= 0.999, (sentence, cosine)
    engine.close()


def test_processes_starting_at_once_convert_the_teacher_once(tmp_path, monkeypatch):
    import threading
    import time

    from toxiclf.training import e5

    conversions = []

    def slow_convert(source, output):
        conversions.append(output)
        time.sleep(0.3)  # long enough for the others to arrive while it converts
        output.mkdir()
        (output / e5.MARKER_FILE).write_text(e5._marker(e5.MODEL_SHA256, e5.MODEL_FILE))

    monkeypatch.setattr(e5, "convert", slow_convert)
    monkeypatch.setattr(e5, "package_model_path", lambda: tmp_path / "model.e5s1")
    folders = []
    starters = [threading.Thread(target=lambda: folders.append(e5.prepare_e5_small(tmp_path / "e5"))) for _ in range(4)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    assert conversions == [tmp_path / "e5"] and folders == [tmp_path / "e5"] * 4
