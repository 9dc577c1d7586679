"""How people disguise words, as functions of a word and a seeded generator; and a normalisation that undoes some.

The functional suite (toxiclf.evaluation.functional_suite) spells its marked words with these, and training-time noise
(toxiclf.data.augment_templates) applies them to random words of training comments of both labels, so that an
odd spelling is learnt as the word it hides and not as a sign of toxicity in itself.
"""

import re

import numpy as np

LEET = {"i": "1", "e": "3", "o": "0", "a": "4@", "s": "5$", "t": "7", "l": "1"}
LEET_BACK = {"1": "i", "3": "e", "0": "o", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t"}
_LEET_TABLE = str.maketrans(LEET_BACK)


def leet(word: str, rng: np.random.Generator) -> str:
    """Some of the letters that have a look-alike digit or symbol replaced by it (at least one where any can be)."""
    positions = [i for i, char in enumerate(word) if char.lower() in LEET]
    if not positions:
        return word
    chosen = {i for i in positions if rng.random() < 0.6} or {positions[int(rng.integers(len(positions)))]}
    return "".join(
        rng.choice(list(LEET[char.lower()])) if i in chosen else char for i, char in enumerate(word)
    )  # fmt: skip


def swap_letters(word: str, rng: np.random.Generator) -> str:
    """Two different neighbouring letters inside the word swapped (the first and last letters stay, as readers
    skim by them)."""
    positions = [i for i in range(1, len(word) - 2) if word[i] != word[i + 1]]
    if not positions:
        return word
    i = positions[int(rng.integers(len(positions)))]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def drop_letter(word: str, rng: np.random.Generator) -> str:
    """One letter inside the word (neither the first nor the last) dropped."""
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    return word[:i] + word[i + 1 :]


def space_letters(word: str, rng: np.random.Generator | None = None) -> str:
    return " ".join(word)


WORD_NOISE = {
    "leet": leet,
    "swapped_letters": swap_letters,
    "dropped_letter": drop_letter,
    "spaces_added": space_letters,
}

_WORD = re.compile(r"[A-Za-z]{3,}")


def join_words(text: str, rng: np.random.Generator, longest: int = 4) -> str:
    """A run of two to `longest` neighbouring words written without the spaces between them, as whole phrases are
    ("you are an idiot" -> "youareanidiot"); a text of one word stays as it is."""
    words = text.split(" ")
    if len(words) < 2:
        return text
    length = int(rng.integers(2, min(longest, len(words)) + 1))
    start = int(rng.integers(len(words) - length + 1))
    return " ".join([*words[:start], "".join(words[start : start + length]), *words[start + length :]])


def noisy(
    text: str, rng: np.random.Generator, word_rate: float = 0.25, join_rate: float = 0.05, phrase_rate: float = 0.0
) -> str:
    """Training-time noise: each word of three or more letters is disguised with probability `word_rate` (one of
    the four word kinds, at random), each space between two words removed with probability `join_rate`, and with
    probability `phrase_rate` a run of two to four words joined into one (`join_words`)."""
    kinds = list(WORD_NOISE.values())

    def disguise(match: re.Match) -> str:
        word = match.group(0)
        return kinds[int(rng.integers(len(kinds)))](word, rng) if rng.random() < word_rate else word

    text = _WORD.sub(disguise, text)
    text = re.sub(r"(?<=\w) (?=\w)", lambda _: "" if rng.random() < join_rate else " ", text)
    # Drawn only when asked for, so that a seed spells the same disguises as before the option existed.
    return join_words(text, rng) if phrase_rate and rng.random() < phrase_rate else text


_SPACED = re.compile(r"\b(?:[A-Za-z] ){2,}[A-Za-z]\b")
_LEET_CHARS = re.compile(r"[013457@$]")
_LEET_BEFORE_LETTER = re.compile(r"[013457@$][A-Za-z]")
# A token of letters and look-alike digits; it is rewritten only if it holds both (checked on the match: lookaheads
# over the rest of the token here made a run without spaces cost time quadratic in its length).
_LEET_WORD = re.compile(r"[A-Za-z013457@$]{3,}")
# Words of address just before spaced-out capitals make them a disguise ("you are a F A G"); elsewhere, in a text
# written in lower case, spaced capitals are a list (grades "A B C", bus lines "N I G", initials) and stay.
_ADDRESSED = re.compile(r"(?:\b(?:you|u|ur|your|youre|you're|ya|such|what|are|is|r)(?: an?)?|\b(?:fucking|dirty|stupid|"
                        r"little|damn|filthy)) $", re.IGNORECASE)  # fmt: skip
_LOWER = re.compile(r"[a-z]")
_SHOUTED_CONTEXT = 40  # characters each side of spaced capitals that tell a shouted text from a lower-case one


def _joined_spaced(text: str, match: re.Match) -> str:
    """Letters spaced out in lower case, joined; in capitals, joined only in a shouted text or after a word of
    address (_ADDRESSED), and without a lower-case one-letter word before them ("you are a F A G" -> "a FAG")."""
    run, start = match.group(0), match.start()
    if not run[2:].isupper():
        return run.replace(" ", "")
    lead = ""
    if run[0].islower():  # "a" before the capitals: an article, not one of them
        lead, run, start = run[:2], run[2:], start + 2
    if len(run) < 5:  # a single capital is no run
        return lead + run
    before = text[max(0, start - _SHOUTED_CONTEXT) : start]
    after = text[match.end() : match.end() + _SHOUTED_CONTEXT]
    shouted = not _LOWER.search(before) and not _LOWER.search(after)
    return lead + (run.replace(" ", "") if shouted or _ADDRESSED.search(before) else run)


def normalise(text: str) -> str:
    """Undo the two disguises that a tokenizer cannot see through and that read the same undone: letters spaced
    out ("i d i o t" -> "idiot") and look-alike digits inside words ("1d10t" -> "idiot"). Numbers, tokens of
    two characters, tokens of mostly digits ("401k") and tokens whose digits only end them ("mp3", "win10") are
    left as they are, and so are spaced capitals in a lower-case text ("grades A B C"), unless a word of address
    comes just before ("you are a F A G"). A one-letter word just before spaced letters joins them ("a s t u p i
    d" -> "astupid"): without a dictionary the two readings cannot be told apart. Linear in the text."""
    text = _SPACED.sub(lambda match: _joined_spaced(text, match), text)

    def unleet(match: re.Match) -> str:
        token = match.group(0)
        if token.isalpha() or not _LEET_BEFORE_LETTER.search(token):  # a word, a version or model number: "mp3"
            return token
        letters = len(token) - len(_LEET_CHARS.findall(token))  # the token holds letters and look-alikes only
        if letters < 2 or letters < len(token) / 2 - 1:  # mostly digits: a code or a number, not a word
            return token
        return token.translate(_LEET_TABLE)  # at C speed: a 20,000-character token is one call

    return _LEET_WORD.sub(unleet, text)


# Short words a joined-up comment is made of ("youareanidiot", "gotohell"); any other part must have three letters.
_SHORT_WORDS = frozenset("a i am an as at be by do go he if in is it me my no of on or so to up us we ya ur".split())


def standalone_letters(min_length: int) -> re.Pattern:
    """A run of at least `min_length` letters that is a word of its own: not part of an address, a file name, wiki
    markup or an identifier, which the steps that rewrite words must leave as written."""
    return re.compile(rf"(?<![\w@/:=.&#%+|_-])[A-Za-z]{{{min_length},}}(?![\w@/:=&#%+|_-]|\.\w)")


_JOINED_CANDIDATE = standalone_letters(6)
MAX_JOINED_LETTERS = 100  # WordPiece's longest word (max_input_chars_per_word): longer runs are left as written


def segment_joined_words(text: str) -> str:
    """Split words that were written without spaces ("willkillevery" -> "will kill every"), with wordninja's
    English Wikipedia word frequencies: a run of six or more letters that is not itself a word is split when every
    part is a word of three letters or more (or a common short one, "a", "to", "is", ...) and one has four."""
    import wordninja  # its word list loads on the first call: folders that do not ask for this never load it

    known = wordninja.DEFAULT_LANGUAGE_MODEL._wordcost  # the words it splits into (wordninja is pinned: a private name)

    def split(match: re.Match) -> str:
        word = match.group(0)
        # The tokenizer reads a longer run as one [UNK] whatever it holds, and wordninja's search costs some
        # thirty dictionary look-ups per letter in Python: a 100,000-letter run took 9 s.
        if len(word) > MAX_JOINED_LETTERS or word.lower() in known:
            return word
        parts = wordninja.split(word)
        if len(parts) < 2 or max(map(len, parts)) < 4:
            return word
        if any(part.lower() not in known or (len(part) < 3 and part.lower() not in _SHORT_WORDS) for part in parts):
            return word
        return " ".join(parts)

    return _JOINED_CANDIDATE.sub(split, text)


def preprocessed(texts, steps) -> list[str]:
    """Each text through each step in order (a model folder's preprocessing, or a variant scored beside it)."""
    texts = list(texts)
    for step in steps:
        texts = [step(text) for text in texts]
    return texts
