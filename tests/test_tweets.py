from toxiclf.tweets import find_tweet_rows, load_rows, match_key, save_rows


def test_match_key_undoes_the_package_cleaning():
    original = 'RT @someone: &#8220;@other: you lie&#8221; &amp; more http://t.co/x &#128514;'
    cleaned = "\u201c you lie\u201d & more \U0001f602"
    assert match_key(original) == match_key(cleaned) == "youliemore"


def test_exact_and_mangled_tweets_are_found_and_comments_kept():
    comments = [
        "This article needs a citation for the second claim.",  # 0: Wikipedia
        "you lie & more",  # 1: cleaned tweet
        "Ew I hate when people post stranger danger e",  # 2: tweet cut after "www" by the package
        "Please stop vandalising the page about the bridge.",  # 3: Wikipedia
    ]
    tweets = ["RT @a: you lie &amp; more", "Ew I hate when people post stranger danger ewww bitch"]
    rows, stats = find_tweet_rows(comments, tweets)
    assert rows == [1, 2]
    assert stats == {"tweets": 2, "rows_exact": 1, "rows_shingle": 1}


def test_rows_round_trip_through_the_shipped_format(tmp_path):
    path = tmp_path / "rows.txt.gz"
    save_rows([3, 1, 4], path)
    first = path.read_bytes()
    save_rows([3, 1, 4], path)
    assert load_rows(path) == [3, 1, 4]
    assert path.read_bytes() == first  # reproducible bytes: regenerating changes nothing in git


def test_shipped_file_lists_the_tweet_rows():
    rows = load_rows()
    assert len(rows) == 24785 and rows == sorted(set(rows))
