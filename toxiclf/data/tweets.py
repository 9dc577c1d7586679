"""Find the Davidson et al. (2017) tweets mixed into the embedded Jigsaw comments.

The embedded CSV holds the 159,571 Wikipedia talk-page comments of Jigsaw 2018 *and* the 24,783 tweets of Davidson
et al.: 184,354 rows, exactly the sum. Its author cleaned most tweets (removed ``RT @user:`` prefixes, @mentions,
URLs, decoded HTML entities) before mixing them in, so we match on a key that undoes the same edits on both sides:
lowercase ``[a-z0-9]`` after those removals, with runs of a repeated character cut to two. Each tweet claims at
most one row, in three passes:

1. the key, exactly (retweets repeat a text: each copy claims its own row);
2. for tweets whose key is empty (only mentions and emoji), the whole text with entities decoded and whitespace
   collapsed — a few tweets were left uncleaned;
3. a few hundred tweets were mangled further (e.g. everything after "www" cut): 10-character shingles of the key,
   one row per tweet, best-covered pairs first. Cutting character runs first keeps "sooooo much" from matching
   "LMFAOOOO" on shingles made only of o's.

The passes find exactly 24,783 rows, one per tweet, which leaves the 159,571 Wikipedia comments.

The result, the row numbers of the tweets in the CSV, is shipped as ``resources/tweet_rows.txt.gz`` so that users
never need the Davidson file. Regenerate it with:

    python -m toxiclf.data.tweets --davidson ../shared/data/davidson_labeled_data.csv
"""

import argparse
import gzip
import html
import json
import logging
import re
from collections import defaultdict
from pathlib import Path

import pandas as pd

from ..paths import RESOURCES
from .embedded_source import embedded_csv_path, read_embedded_csv

logger = logging.getLogger(__name__)

TWEET_ROWS_FILE = RESOURCES / "tweet_rows.txt.gz"

_URL = re.compile(r"https?://\S+|www\S*")  # the package cut "www..." even inside words ("awwww" -> "a")
_MENTION = re.compile(r"@\w+")
_RETWEET = re.compile(r"\bRT\b", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_CHARACTER_RUN = re.compile(r"(.)\1{2,}")

SHINGLE_CHARS = 10  # long enough to be specific, short enough to survive the package's edits
MAX_SHINGLE_ROW_CHARS = 600  # tweets are at most a few hundred characters; skip long comments
MIN_ROW_COVERAGE = 0.5  # share of the row's shingles found in one tweet
MIN_TWEET_COVERAGE = 0.3  # share of that tweet's shingles the row covers


def match_key(text: str) -> str:
    """Lowercase alphanumerics left after undoing the package's tweet cleaning."""
    text = html.unescape(html.unescape(text))  # Davidson has doubly escaped entities (&amp;#128514;)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _RETWEET.sub(" ", text)
    return _CHARACTER_RUN.sub(r"\1\1", _NOT_ALNUM.sub("", text.lower()))


def verbatim_key(text: str) -> str:
    """The text with entities decoded and whitespace collapsed: for tweets that have no alphanumerics left."""
    return " ".join(html.unescape(html.unescape(text)).split())


def _shingles(key: str):
    return (key[i : i + SHINGLE_CHARS] for i in range(max(1, len(key) - SHINGLE_CHARS + 1)))


def find_tweet_rows(texts: list[str], tweets: list[str]) -> tuple[list[int], dict]:
    """Return the sorted row numbers of `texts` that are tweets, and counts of how each was found."""
    row_keys = [match_key(t) for t in texts]
    found = set()
    unmatched = _claim_exact(row_keys, [match_key(t) for t in tweets], found)
    exact = len(found)
    # Only tweets with an empty key go to the verbatim pass: a short key ("lol") would otherwise claim any row.
    empty = [i for i in unmatched if not match_key(tweets[i])]
    unmatched_verbatim = _claim_exact([verbatim_key(t) for t in texts], [verbatim_key(tweets[i]) for i in empty], found)
    verbatim = len(found) - exact
    still_unmatched = [i for i in unmatched if i not in set(empty)] + [empty[i] for i in unmatched_verbatim]
    _claim_by_shingles(row_keys, [match_key(tweets[i]) for i in still_unmatched], found)
    stats = {
        "tweets": len(tweets),
        "rows_exact": exact,
        "rows_verbatim": verbatim,
        "rows_shingle": len(found) - exact - verbatim,
        "tweets_unmatched": len(tweets) - len(found),
    }
    return sorted(found), stats


def _claim_exact(row_keys: list[str], tweet_keys: list[str], found: set) -> list[int]:
    """Give each tweet with a non-empty key one unclaimed row of the same key; return the tweets left over."""
    rows_by_key = defaultdict(list)
    for row, key in enumerate(row_keys):
        if row not in found:
            rows_by_key[key].append(row)
    unmatched = []
    for tweet_id, key in enumerate(tweet_keys):
        candidates = rows_by_key.get(key) if key else None
        if candidates:
            found.add(candidates.pop(0))
        else:
            unmatched.append(tweet_id)
    return unmatched


def _claim_by_shingles(row_keys: list[str], tweet_keys: list[str], found: set) -> None:
    """One row per tweet where they share enough shingles; the pairs with the best row coverage claim first."""
    index = defaultdict(set)
    for tweet_id, key in enumerate(tweet_keys):
        for shingle in _shingles(key):
            index[shingle].add(tweet_id)
    pairs = []
    for row, key in enumerate(row_keys):
        if row in found or not SHINGLE_CHARS <= len(key) <= MAX_SHINGLE_ROW_CHARS:
            continue
        row_shingles = list(_shingles(key))
        hits = defaultdict(int)
        for shingle in row_shingles:
            for tweet_id in index.get(shingle, ()):
                hits[tweet_id] += 1
        for tweet_id, count in hits.items():
            tweet_shingles = max(1, len(tweet_keys[tweet_id]) - SHINGLE_CHARS + 1)
            if count >= MIN_ROW_COVERAGE * len(row_shingles) and count >= MIN_TWEET_COVERAGE * tweet_shingles:
                pairs.append((count / len(row_shingles), count / tweet_shingles, row, tweet_id))
    claimed_tweets = set()
    for *_, row, tweet_id in sorted(pairs, reverse=True):
        if row not in found and tweet_id not in claimed_tweets:
            found.add(row)
            claimed_tweets.add(tweet_id)


def save_rows(rows: list[int], path: Path = TWEET_ROWS_FILE) -> None:
    # mtime=0 keeps the gzip bytes identical across runs, so regenerating changes nothing in git.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write("".join(f"{row}\n" for row in rows).encode())


def load_rows(path: Path = TWEET_ROWS_FILE) -> list[int]:
    with gzip.open(path, "rt") as lines:
        return [int(line) for line in lines]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--davidson", required=True, type=Path, help="davidson_labeled_data.csv (column `tweet`)")
    parser.add_argument("--output", type=Path, default=TWEET_ROWS_FILE, help="where to write the row numbers")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    source = read_embedded_csv(embedded_csv_path())
    davidson = pd.read_csv(args.davidson)
    if "tweet" not in davidson.columns:
        raise SystemExit(f"error: {args.davidson} has no column 'tweet'")
    rows, stats = find_tweet_rows(source["text"].tolist(), davidson["tweet"].tolist())
    save_rows(rows, args.output)
    stats["rows_found"] = len(rows)
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
