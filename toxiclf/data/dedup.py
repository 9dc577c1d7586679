"""Duplicates and near-duplicates of comments, so that no test comment has a copy of itself in training.

Two rules, applied before the split:

1. **Normalised duplicates are removed.** Comments that are equal after Unicode NFKC, case folding and deleting
   everything but letters and digits ("I'ma smack ya  upside da head" = "i'ma smack ya upside da head!") keep one
   copy. Where the copies carry different labels the label is noise, and the whole group is dropped.
2. **Near-duplicates are grouped.** Comments whose TF-IDF vectors (words, sublinear tf) have cosine >= 0.9 are
   linked, and the connected components become groups that the split keeps on one side.
"""

import re
import unicodedata

import numpy as np
import pandas as pd

NEAR_DUPLICATE_COSINE = 0.9
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")
_ROWS_PER_CHUNK = 2000  # rows of the similarity matrix computed at once: bounded memory


def normalized_key(text: str) -> str:
    """Case-, whitespace- and punctuation-free form of a comment; comments with no letters keep their symbols."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_LETTER_OR_DIGIT.sub("", folded) or " ".join(folded.split())


def drop_normalized_duplicates(frame: pd.DataFrame, text_column: str, label_column: str):
    """(frame with one row per normalised key, counts of what was removed). Keeps the first copy's row."""
    keys = frame[text_column].map(normalized_key)
    labels_per_key = frame.groupby(keys)[label_column].nunique()
    conflicting = keys.map(labels_per_key) > 1
    kept = frame[~conflicting & ~keys.duplicated(keep="first")]
    counts = {
        "normalized_duplicates_removed": int((~conflicting & keys.duplicated(keep="first")).sum()),
        "conflicting_label_rows_dropped": int(conflicting.sum()),
        "conflicting_label_groups": int((labels_per_key > 1).sum()),
    }
    return kept.reset_index(drop=True), counts


def near_duplicate_groups(texts, threshold: float = NEAR_DUPLICATE_COSINE) -> np.ndarray:
    """A group number per text; texts linked by TF-IDF cosine >= threshold (directly or in a chain) share one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(sublinear_tf=True, dtype=np.float32).fit_transform(texts)  # rows are L2-normalised
    n = vectors.shape[0]
    sources, targets = [], []
    for start in range(0, n, _ROWS_PER_CHUNK):
        stop = min(start + _ROWS_PER_CHUNK, n)
        # Only pairs (i, j) with j > i: the upper triangle, half the work of the full product.
        similar = (vectors[start:stop] @ vectors[start:].T).tocoo()
        keep = (similar.data >= threshold) & (similar.col > similar.row)
        sources.append(similar.row[keep] + start)
        targets.append(similar.col[keep] + start)
    sources, targets = np.concatenate(sources), np.concatenate(targets)
    links = coo_matrix((np.ones(len(sources), dtype=np.int8), (sources, targets)), shape=(n, n))
    return connected_components(links, directed=False)[1]


def group_counts(groups: np.ndarray) -> dict:
    sizes = np.bincount(groups)
    return {
        "near_duplicate_groups": int((sizes > 1).sum()),
        "rows_in_near_duplicate_groups": int(sizes[sizes > 1].sum()),
        "largest_near_duplicate_group": int(sizes.max()) if len(sizes) else 0,
    }
