"""Unicode read as people use it: look-alike letters, bidi controls, invisible characters, emoji inside words,
dotted letters and compatibility letters read as the plain text, for toxic and clean texts alike."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toxiclf.inference.text_checks import text_problem
from toxiclf.inference.unicode_text import BIDI_CONTROLS, confusable_letters, read_unicode

CYRILLIC = str.maketrans("aeiopcyx", "аеіорсух")  # Latin letters -> their Cyrillic look-alikes
FULLWIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}
BOLD = {**{ord(c): 0x1D41A + i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")},
        **{ord(c): 0x1D400 + i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}}  # fmt: skip


def disguised(text: str) -> dict[str, str]:
    """`text` in each of the forms the issue names."""
    return {
        "cyrillic": text.translate(CYRILLIC),
        "fullwidth": text.translate(FULLWIDTH),
        "bold": text.translate(BOLD),
        "right-to-left override": "\u202e" + text[::-1],
        "zero-width": "\u200b".join(text),
        "emoji in words": " ".join(w[:1] + "🤬" + w[1:] if len(w) > 2 else w for w in text.split(" ")),
        "bidi marks": "\u200f" + text.replace(" ", " \u200e"),
    }


SENTENCES = ["you are an idiot", "thank you for the fix", "this is great work", "shut up you stupid moron"]


@pytest.mark.parametrize("text", SENTENCES)
def test_every_form_reads_as_the_plain_text(text):
    for form, written in disguised(text).items():
        assert read_unicode(written) == text, form


def test_dotted_and_hyphenated_letters_read_as_the_word_and_short_abbreviations_stay():
    assert read_unicode("you i.d.i.o.t") == "you idiot"
    assert read_unicode("s-h-u-t up") == "shut up"
    assert read_unicode("e.g. this, i.e. that, x-ray") == "e.g. this, i.e. that, x-ray"


def test_a_reversed_clean_sentence_reads_clean_and_not_as_an_obscenity():
    shown_as = "this is great"  # its letters written backwards after U+202E show as this
    assert read_unicode("\u202e" + shown_as[::-1]) == shown_as
    assert "shit" not in read_unicode("\u202e" + shown_as[::-1])


def test_other_scripts_and_accented_letters_keep_their_own_letters():
    for text in ("Спасибо, это хорошо", "Das ist ein guter Artikel über die Stadt.", "café, résumé, naïve",
                 "谢谢你", "Καλημέρα σας", "שלום לכולם"):  # fmt: skip
        assert read_unicode(text) == unicodedata.normalize("NFKC", text)


def test_look_alike_letters_come_from_unicodes_confusables_table():
    table = confusable_letters()
    assert len(table) > 500
    assert {chr(c): table[c] for c in map(ord, "аеіоԁ")} == dict(zip("аеіоԁ", "aeiod", strict=True))
    assert table[ord("І")] == "I"  # a capital I-like letter is an I, not Unicode's skeleton "l"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_reading_is_idempotent_and_leaves_no_bidi_or_invisible_character(text):
    read = read_unicode(text)
    assert read_unicode(read) == read
    assert not set(read) & set(BIDI_CONTROLS + "\u200b\u200c\u200d\u2060\ufeff")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80))
def test_plain_ascii_text_is_unchanged_but_for_dotted_letters(text):
    read = read_unicode(text)
    assert read == text or len(read) < len(text)
    assert read.replace(" ", "") == read_unicode(text.replace(" ", "")).replace(" ", "") or "." in text or "-" in text


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200d\ufeff", " \u2060\t", "\x00\x01", "\u202e\u202c", "\ufe0f"])
def test_a_text_of_only_invisible_or_control_characters_is_refused_like_an_empty_one(text):
    assert text_problem(text) == "empty text"


@pytest.fixture(scope="module")
def shipped():
    from toxiclf import load_classifier

    return load_classifier()  # the shipped model as served (ONNX int8), a few seconds


@pytest.mark.parametrize("text", SENTENCES)
def test_the_shipped_model_scores_every_form_like_the_plain_text(shipped, text):
    plain = shipped.predict(text)
    for form, written in disguised(text).items():
        result = shipped.predict(written)
        assert result["flagged"] == plain["flagged"], form
        assert result["score"] == pytest.approx(plain["score"], abs=0.02), form


CLEAN_IN_OTHER_FORMS = ["👍", "谢谢你", "谢谢你的帮助!", "ｔｈａｎｋ ｙｏｕ ｆｏｒ ｔｈｅ ｆｉｘ", "𝐭𝐡𝐚𝐧𝐤𝐬 𝐟𝐨𝐫 𝐭𝐡𝐞 𝐟𝐢𝐱",
                        "\u202e" + "this is great"[::-1], "Спасибо за помощь", "lol 👍"]  # fmt: skip


@pytest.mark.parametrize("text", CLEAN_IN_OTHER_FORMS)
def test_the_shipped_model_does_not_flag_a_clean_text_for_its_script(shipped, text):
    assert not shipped.predict(text)["flagged"]
