"""Unicode as people use it to get past a filter, read back as the plain text a reader sees.

    from toxiclf.inference.unicode_text import read_unicode
    read_unicode("уоu аrе аn іdіоt")   # Cyrillic look-alike letters -> "you are an idiot"

One pass of each kind, every one linear in the text (regular expressions that consume what they match, and
`str.translate`), in this order:

1. bidi controls: a run after a right-to-left override (U+202E, up to U+202C or the end of the line) is shown
   reversed, so it is read reversed, as shown; every other bidi control is dropped;
2. NFKC: fullwidth, mathematical-bold and other compatibility letters become the letters they are ("ｆｏｏ" -> "foo");
3. invisible characters (zero-width spaces and joiners, soft hyphens, variation selectors, tags, control
   characters but tab and line breaks) are dropped, and a symbol or emoji between two letters too ("id🤬iot");
4. confusable letters (Unicode's confusables table, as the `confusable-homoglyphs` package ships it) inside a word
   that also holds a Latin letter, or inside any word of a text written mostly in Latin letters, read as the Latin
   letter they copy ("іdіоt" -> "idiot"); a word of a text written in another script keeps its own letters;
5. letters written one by one between dots, hyphens, stars or underscores read as a word ("i.d.i.o.t" -> "idiot").
"""

import functools
import json
import re
import sys
import unicodedata
from pathlib import Path

_RLO, _PDF = "\u202e", "\u202c"
# Left-to-right / right-to-left marks, embeddings, overrides and isolates, the Arabic letter mark.
BIDI_CONTROLS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_OVERRIDDEN = re.compile(f"{_RLO}([^{_PDF}\n\r\u2028\u2029]*){_PDF}?")
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_LETTER = r"[^\W\d_]"
# Letters one by one with a dot, hyphen, star, tilde or underscore between each: three letters at least ("e.g."
# stays as written), fifty at most per match (a longer run is joined in pieces), so that the regular expression
# engine's cost per match is bounded: an unbounded repeat cost time superlinear in a 100,000-character run.
_DOTTED = re.compile(r"\b[A-Za-z](?:[.*_~-][A-Za-z]){2,49}\b")
_WORD = re.compile(rf"{_LETTER}+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_OTHER_LETTER = re.compile(rf"(?![A-Za-z]){_LETTER}")


def _ranges(codes: list[int]) -> str:
    """A regular-expression character class body for these code points (sorted), as ranges."""
    parts, start, previous = [], None, None
    for code in codes:
        if start is None:
            start = previous = code
        elif code == previous + 1:
            previous = code
        else:
            parts.append((start, previous))
            start = previous = code
    if start is not None:
        parts.append((start, previous))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in parts)


@functools.cache
def _classes() -> tuple[re.Pattern, re.Pattern]:
    """(invisible characters, symbols between letters), from the Unicode database of this Python: built once
    (a pass over every code point, about a quarter of a second)."""
    invisible, symbols = [], []
    for code in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category == "Cf" or (category == "Cc" and chr(code) not in "\t\n\r"):
            invisible.append(code)
        elif 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:  # variation selectors (Mn): emoji styles
            invisible.append(code)
        elif category in ("So", "Sk", "Cn") and code > 0x7F:  # emoji, their skin-tone modifiers, unassigned
            symbols.append(code)
    between = re.compile(rf"(?<={_LETTER})[{_ranges(symbols)}]+(?={_LETTER})")
    return re.compile(f"[{_ranges(invisible)}]+"), between


INVISIBLE_NOTE = "zero-width, bidi and other invisible characters"


def invisible_characters() -> re.Pattern:
    """One or more characters that show nothing (format and control characters but tab and line breaks, variation
    selectors): what `text_checks` ignores when it asks whether a text is empty."""
    return _classes()[0]


@functools.cache
def confusable_letters() -> dict[int, str]:
    """Each non-ASCII letter that Unicode's confusables table lists as looking like one ASCII letter, mapped to it
    in the letter's own case (a `str.translate` table). The table is the JSON file the `confusable-homoglyphs`
    package ships (Unicode's confusables.txt); read as a file so that its loader's other work is not needed."""
    import confusable_homoglyphs

    table = json.loads((Path(confusable_homoglyphs.__file__).parent / "confusables.json").read_text("utf-8"))
    mapped = {}
    for char, looks_like in table.items():
        if len(char) != 1 or char.isascii() or not char.isalpha():
            continue
        latin = [entry["c"] for entry in looks_like if len(entry["c"]) == 1 and entry["c"].isascii()
                 and entry["c"].isalpha()]  # fmt: skip
        if not latin:
            continue
        letter = latin[0]
        if char.isupper():  # Unicode's skeleton reads every I-like letter as "l"; a capital one is an I
            letter = "I" if letter in "lI" else letter.upper()
        elif char.islower():
            letter = letter.lower()
        mapped[ord(char)] = letter
    return mapped


def _letters_only(match: re.Match) -> str:
    return match.group(0)[::2]


def _shown_order(match: re.Match) -> str:
    return match.group(1)[::-1]


def read_unicode(text: str) -> str:
    """`text` as a reader sees it, in plain letters (the module's docstring lists the steps)."""
    if text.isascii():  # most comments: only the dotted letters and the control characters can be there
        text = invisible_characters().sub("", text) if not text.isprintable() else text
        return _DOTTED.sub(_letters_only, text)
    text = _BIDI.sub("", _OVERRIDDEN.sub(_shown_order, text))
    text = unicodedata.normalize("NFKC", text)
    invisible, between = _classes()
    text = between.sub("", invisible.sub("", text))
    # Twice at most: mapping the mixed words can make the text mostly Latin, which maps the rest; then it is stable
    read = _read_confusables(text)
    text = _read_confusables(read) if read != text else read
    return _DOTTED.sub(_letters_only, text)


def _read_confusables(text: str) -> str:
    table = confusable_letters()
    latin = len(_ASCII_LETTER.findall(text))
    mostly_latin = latin > len(_OTHER_LETTER.findall(text))

    def word(match: re.Match) -> str:
        found = match.group(0)
        if found.isascii():
            return found
        read = found.translate(table)
        if read == found:
            return found
        if mostly_latin or _ASCII_LETTER.search(found):
            return read
        return found

    return _WORD.sub(word, text)
