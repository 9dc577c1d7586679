"""Non-toxic training sentences that mention identity terms: the mitigation of Dixon et al. (2018).

A term that occurs mostly in abuse in the training comments ("gay": 364 of its 601 training comments are toxic)
is learnt as a sign of toxicity, and harmless sentences that mention it get flagged. Dixon et al. add non-toxic
sentences that mention each such term until its toxic share falls to the base rate of the whole split.

- `augmentation_sentences(N, seed)`: N sentences drawn from `templates` x terms (765 in all), the same for every
  split: `--identity-augmentation N`.
- `balanced_sentences(texts, labels, seed)`: per term, as many as bring its toxic share in *these* training
  comments down to their base rate, and at least `MIN_PER_TERM` (a term the comments never use is learnt from
  these alone), drawn from the templates and the frames: `--identity-augmentation balanced`.
- `balanced_sentences(..., statements=True)`: also, per term, statements that someone *is* the term ("Our new coach is
  gay."), balanced the same way against the training comments that say so ("is gay": 116 of 170 toxic, as an
  insult): `--identity-augmentation balanced-statements`. The frames put the term before a noun; a model trained
  with them alone still flagged "My best friend is gay."

The templates, frames and terms are data (`resources/identity_augmentation.json`, `resources/identity_terms.json`);
none of the sentences is an audit sentence, so that the audit (toxiclf.evaluation.identity_audit) stays a fair test.
"""

import itertools
import json
import math

import numpy as np

from ..paths import RESOURCES
from .identity_terms import TERMS_FILE, mentions

AUGMENTATION_FILE = RESOURCES / "identity_augmentation.json"
MIN_PER_TERM = 50
RECIPES = ("balanced", "balanced-statements")
# A statement that someone or something is the term, as the training comments write it ("u r gay" too).
STATEMENT = r"\b(?:is|am|are|was|were|be|being|been|r|ur)\s+(?:a\s+|an\s+|so\s+|very\s+)?{term}\b"


def audit_terms() -> list[str]:
    return [term for group in json.loads(TERMS_FILE.read_text())["terms"].values() for term in group]


def augmentation_sentences(count: int, seed: int) -> list[str]:
    """`count` sentences drawn without replacement from the templates x the audit's terms, seeded."""
    templates = json.loads(AUGMENTATION_FILE.read_text())["templates"]
    pool = [template.replace("{term}", term) for template in templates for term in audit_terms()]
    if count > len(pool):
        raise ValueError(f"--identity-augmentation takes at most {len(pool)} sentences, got {count}")
    rng = np.random.default_rng(seed)
    return [pool[i] for i in rng.choice(len(pool), size=count, replace=False)]


def term_pool(term: str, statements: bool = False) -> list[str]:
    """Every sentence for one term: the templates, then every shape x determiner x noun x predicate of the frames,
    or (`statements`) of the statement shapes."""
    spec = json.loads(AUGMENTATION_FILE.read_text())
    frames = spec["frames"]
    shapes = spec["statements"]["shapes"] if statements else frames["shapes"]
    sentences = [] if statements else [template.replace("{term}", term) for template in spec["templates"]]
    for shape, determiner, noun, predicate in itertools.product(
        shapes, frames["determiners"], frames["nouns"], frames["predicates"]
    ):
        sentence = shape.format(
            determiner=determiner, determiner_lower=determiner.lower(), term=term, noun=noun, predicate=predicate
        )
        if not sentences or sentence != sentences[-1]:  # a shape without {predicate} repeats per predicate
            sentences.append(sentence)
    return sentences


def balancing_counts(texts: list[str], labels, minimum: int = MIN_PER_TERM, statements: bool = False) -> dict:
    """Per term, the non-toxic sentences that bring the toxic share of the comments mentioning it (or, with
    `statements`, saying that someone is it) down to the base rate of all the comments (toxic / (mentions + added)
    = base rate), and at least `minimum`."""
    labels = np.asarray(labels)
    base_rate = labels.mean()
    if base_rate == 0:
        raise ValueError("the training comments hold no toxic one: there is no toxic share to balance")
    counts = {}
    for term in audit_terms():
        in_term = mentions(texts, term, STATEMENT if statements else None)
        toxic = int(labels[in_term].sum())
        counts[term] = max(minimum, math.ceil(toxic / base_rate - in_term.sum()))
    return counts


def balanced_sentences(texts: list[str], labels, seed: int, minimum: int = MIN_PER_TERM, statements: bool = False):
    """(sentences, per-term counts): each term's count drawn without replacement from its pool, seeded; with
    `statements`, the statements balanced likewise follow (counts keyed "term" and "term (statements)")."""
    rng = np.random.default_rng(seed)
    sentences, counts = [], {}
    for kind in (False, True) if statements else (False,):
        for term, count in balancing_counts(texts, labels, minimum, statements=kind).items():
            pool = term_pool(term, statements=kind)
            if count > len(pool):
                raise ValueError(f"'{term}' needs {count} sentences to be balanced, and its pool holds {len(pool)}")
            sentences += [pool[i] for i in rng.choice(len(pool), size=count, replace=False)]
            counts[f"{term} (statements)" if kind else term] = count
    return sentences, counts
