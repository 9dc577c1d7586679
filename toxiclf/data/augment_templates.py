"""Training data for reading meaning rather than words: contrastive templated sentences and spelling noise.

- `robustness_sentences(count, seed)`: `count` sentences drawn evenly from the kinds of
  `resources/robustness_augmentation.json`, which pair the same words with both labels: "those Roma are nothing
  more than rats" (toxic) against "comparing Roma to rats is vile bigotry" (not toxic), threats against "no one
  should ever kill ...", contempt stated as a question or opinion against its negation, slurs used against slurs
  discussed, swearing at someone against swearing at no one: `--robustness-augmentation N`.
- `davidson_tweets(path, count, seed)`: `count` tweets of Davidson et al. (2017), hate or offensive -> toxic,
  neither -> not toxic, with retweet marks, @mentions, links and HTML entities removed: another community's
  writing as extra training rows (`--davidson PATH --davidson-samples N`).
- `noisy_texts(texts, share, seed)`: a share of the training comments, of both labels, spelt with the disguises
  of toxiclf.inference.obfuscation (leet digits, swapped or dropped letters, spaced-out letters, joined words), so
  that an odd
  spelling is read as the word it hides and is not itself a sign of toxicity: `--noise-share F`; templated
  sentences likewise with `--template-noise-share F`, and whole phrases joined up with `--joined-phrase-share F`.

None of the sentences shares five words in a row with a case of the functional suite (tested), so that the suite
stays a fair judge of what these sentences teach.
"""

import html
import itertools
import json
import re

import numpy as np
import pandas as pd

from ..inference.obfuscation import noisy
from ..paths import RESOURCES

ROBUSTNESS_FILE = RESOURCES / "robustness_augmentation.json"


def _pool(templates: list[str], spec: dict) -> list[str]:
    """Every distinct sentence the templates give, each slot taking each of its values."""
    sentences = {}
    for template in templates:
        pieces = re.split(r"\{(\w+)\}", template)  # text, slot name, text, slot name, ..., text
        choices = [spec["groups"] if name == "T" else spec["slots"][name] for name in pieces[1::2]]
        for values in itertools.product(*choices):
            sentence = "".join(
                piece for pair in itertools.zip_longest(pieces[::2], values, fillvalue="") for piece in pair
            )
            sentences.setdefault(sentence.casefold(), sentence)
    return list(sentences.values())


def _surface(sentence: str, rng: np.random.Generator) -> str:
    """Comments come in every case and punctuation: half start with a capital, a third end with a full stop."""
    if rng.random() < 0.5:
        sentence = sentence[:1].upper() + sentence[1:]
    if sentence[-1].isalnum() and rng.random() < 0.3:
        sentence += "."
    return sentence


def _quotas(pools: dict[str, list[str]], count: int) -> dict[str, int]:
    """The same number from each kind as near as their pools allow: a kind with a small pool gives all it has, the
    others share the rest."""
    quotas, left = {}, count
    for position, (kind, pool) in enumerate(sorted(pools.items(), key=lambda item: len(item[1]))):
        quotas[kind] = min(len(pool), left // (len(pools) - position))
        left -= quotas[kind]
    return quotas


def robustness_sentences(count: int, seed: int, spec_file=ROBUSTNESS_FILE) -> tuple[list[str], list[int], list[str]]:
    """(texts, labels, kinds): `count` distinct sentences drawn without replacement, seeded: half of them toxic and
    half not (the templates teach what a sentence does, not a new base rate), each half spread evenly over the kinds
    of its label (`_quotas`)."""
    spec = json.loads(spec_file.read_text())
    pools = {kind: _pool(entry["templates"], spec) for kind, entry in spec["kinds"].items()}
    by_label = {label: {kind: pool for kind, pool in pools.items() if spec["kinds"][kind]["label"] == label}
                for label in (0, 1)}  # fmt: skip
    quotas = {}
    for label, share in ((1, count // 2), (0, count - count // 2)):
        available = sum(map(len, by_label[label].values()))
        if share > available:
            raise ValueError(f"the templates give {available} distinct sentences of label {label}, asked for {share}")
        quotas |= _quotas(by_label[label], share)
    rng = np.random.default_rng(seed)
    texts, labels, kinds = [], [], []
    for kind, pool in pools.items():
        for index in rng.choice(len(pool), size=quotas[kind], replace=False):
            texts.append(_surface(pool[index], rng))
            labels.append(spec["kinds"][kind]["label"])
            kinds.append(kind)
    return texts, labels, kinds


def noisy_texts(texts: list[str], share: float, seed: int, phrase_rate: float = 0.0) -> tuple[list[str], np.ndarray]:
    """(texts, which were changed): a seeded `share` of the texts disguised with toxiclf.inference.obfuscation.noisy (a
    share `phrase_rate` of those with a run of words joined up)."""
    if not 0 <= share <= 1:
        raise ValueError(f"the noise share must be between 0 and 1, got {share}")
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(texts)) < share
    picked = zip(texts, chosen, strict=True)
    return [noisy(text, rng, phrase_rate=phrase_rate) if pick else text for text, pick in picked], chosen


DAVIDSON_COLUMNS = ("tweet", "class")  # class: 0 hate speech, 1 offensive language, 2 neither
_TWEET_NOISE = re.compile(r"\bRT\b|@\w+:?|https?://\S+")


def davidson_tweets(path, count: int, seed: int) -> tuple[list[str], list[int]]:
    """(texts, labels): `count` tweets drawn at random (seeded) from Davidson et al.'s labelled_data.csv."""
    try:
        frame = pd.read_csv(path, usecols=list(DAVIDSON_COLUMNS))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not Davidson et al.'s labelled tweets CSV ({error})") from None
    texts = [
        " ".join(_TWEET_NOISE.sub(" ", html.unescape(str(tweet))).split()).strip(' !"') for tweet in frame["tweet"]
    ]
    frame = frame.assign(text=texts)
    frame = frame[frame["text"].str.len() > 0]
    if count > len(frame):
        raise ValueError(f"{path} holds {len(frame)} usable tweets, asked for {count}")
    chosen = frame.sample(n=count, random_state=seed)
    return chosen["text"].tolist(), (chosen["class"] != 2).astype(int).tolist()
