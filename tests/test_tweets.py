from toxiclf.data.tweets import find_tweet_rows, load_rows, match_key, save_rows


def test_match_key_undoes_the_package_cleaning():
    original = "RT @someone: &#8220;@other: you lie&#8221; &amp; more http://t.co/x &#128514;"
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
    assert stats == {"tweets": 2, "rows_exact": 1, "rows_verbatim": 0, "rows_shingle": 1, "tweets_unmatched": 0}


def test_tweets_without_alphanumerics_match_verbatim():
    comments = ["Nice edit.", "@TNKidsFoodPorn @Oreo ..............\U0001f612", "@hoes \u2665", ". ."]
    tweets = ["@TNKidsFoodPorn @Oreo ..............&#128530;", "@hoes &#9829;"]
    rows, stats = find_tweet_rows(comments, tweets)
    assert rows == [1, 2] and stats["rows_verbatim"] == 2


def test_runs_of_one_letter_do_not_make_a_shingle_match():
    comments = ["I hate you " + "o" * 60 + " much.", "NOOOOOOOOOOOOOOOOOOOOOOOOOOOO!!!!"]
    tweets = ["LMFAO" + "O" * 60 + " &#128514;"]
    rows, stats = find_tweet_rows(comments, tweets)
    assert rows == [] and stats["tweets_unmatched"] == 1


def test_each_tweet_claims_one_row_only():
    retweet = "when other girls wear beanies they look cute and stylish but when i wear them i look like a member of"
    comments = [f" {retweet} a", f" {retweet} a drug", "An unrelated comment about the bridge article."]
    tweets = [f"RT @a: {retweet} a drug cartel&#8230;"]
    rows, _ = find_tweet_rows(comments, tweets)
    assert len(rows) == 1


def test_rows_round_trip_through_the_shipped_format(tmp_path):
    path = tmp_path / "rows.txt.gz"
    save_rows([3, 1, 4], path)
    first = path.read_bytes()
    save_rows([3, 1, 4], path)
    assert load_rows(path) == [3, 1, 4]
    assert path.read_bytes() == first  # reproducible bytes: regenerating changes nothing in git


def test_shipped_file_lists_the_tweet_rows():
    rows = load_rows()
    # 184,354 rows = 159,571 Wikipedia comments + 24,783 tweets: one row per tweet, no more.
    assert len(rows) == 24783 and rows == sorted(set(rows))
