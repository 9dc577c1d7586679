"""Data: the embedded splits, their sources, and the training rows a run adds (identity, group and
templated sentences, tweets)."""
