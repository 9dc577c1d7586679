"""Non-neural baselines for run_eval.py: the majority class, and TF-IDF + logistic regression."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

TFIDF_MAX_FEATURES = 200_000  # per analyzer; enough for 110k comments, bounded memory


class MajorityBaseline:
    """Always the training split's toxic rate: every comment non-toxic at threshold 0.5 (ROC-AUC 0.5)."""

    name = "majority"

    def fit(self, texts, labels):
        self.rate = float(np.mean(labels))
        return self

    def scores(self, texts, batch_size=None, progress=False):
        return np.full(len(texts), self.rate)

    @property
    def num_parameters(self) -> int:
        return 1


class TfidfBaseline:
    """Word 1-2-grams and character 2-5-grams, TF-IDF weighted, into a logistic regression."""

    name = "tfidf-logreg"

    def __init__(self, seed: int = 0):
        features = FeatureUnion(
            [
                ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                                         max_features=TFIDF_MAX_FEATURES)),
                # char_wb n-grams catch obfuscations ("f*ck", "id1ot") that word n-grams miss
                ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                         max_features=TFIDF_MAX_FEATURES)),
            ]
        )  # fmt: skip
        self.pipeline = make_pipeline(features, LogisticRegression(C=4.0, max_iter=2000, random_state=seed))

    def fit(self, texts, labels):
        self.pipeline.fit(texts, labels)
        self.fitted_rows = len(texts)
        return self

    def scores(self, texts, batch_size=None, progress=False):
        return self.pipeline.predict_proba(list(texts))[:, 1]

    @property
    def num_parameters(self) -> int:
        return int(self.pipeline[-1].coef_.size + self.pipeline[-1].intercept_.size)
