"""The offensive words the spelling repair may repair into: better-profanity's list (the test extra), built once.

python -m toxiclf.data.offensive_words  # -> toxiclf/resources/offensive_words.json
"""

import json

from ..inference.spelling import OFFENSIVE_WORDS_FILE


def build_lexicon() -> None:
    """OFFENSIVE_WORDS_FILE from better-profanity's word list (the test extra): its single words of letters."""
    from importlib.metadata import version
    from importlib.resources import files

    listed = files("better_profanity").joinpath("profanity_wordlist.txt").read_text("utf-8").split("\n")
    words = sorted({w.strip().lower() for w in listed if w.strip().isalpha() and w.strip().isascii()})
    record = {
        "about": "Offensive words: the single words of letters in the word list of the PyPI package better-profanity "
        "(MIT licence). the spelling repair never repairs a word into one of them unless the word is no English word "
        "nor a name, and one dropped or swapped letter away.",
        "command": "python -m toxiclf.data.offensive_words",
        "source": f"better-profanity {version('better-profanity')}, better_profanity/profanity_wordlist.txt",
        "words": words,
    }
    OFFENSIVE_WORDS_FILE.write_text(json.dumps(record, indent=0) + "\n")
    print(f"{len(words):,} offensive words -> {OFFENSIVE_WORDS_FILE}")


if __name__ == "__main__":
    build_lexicon()
