import numpy as np
import pandas as pd
from conftest import make_comments

from toxiclf.data.dedup import drop_normalized_duplicates, near_duplicate_groups, normalized_key
from toxiclf.data.splits import clean_and_split, split_frame


def test_normalized_key_ignores_case_whitespace_and_punctuation():
    assert normalized_key("I'ma smack ya  upside\nda head!!") == normalized_key("i'ma smack ya upside da head")
    assert normalized_key("Ｆｕｌｌ width") == normalized_key("full WIDTH")  # NFKC
    assert normalized_key("Café") != normalized_key("Cafe")  # letters are kept, accents included
    assert normalized_key(" !!! ") == "!!!"  # no letters: the symbols are the key, not ""
    assert normalized_key("(  )") != normalized_key("!!!")


def test_normalized_duplicates_keep_one_copy_and_conflicts_are_dropped():
    frame = pd.DataFrame({
        "id": list("abcdef"),
        "comment_text": ["You idiot", "you   IDIOT!", "Thanks for the edit", "thanks, for the edit.", "ok", "OK"],
        "label": [1, 1, 0, 0, 1, 0],
    })  # fmt: skip
    kept, counts = drop_normalized_duplicates(frame, "comment_text", "label")
    assert kept["id"].tolist() == ["a", "c"]
    assert counts == {"normalized_duplicates_removed": 2, "conflicting_label_rows_dropped": 2,
                      "conflicting_label_groups": 1}  # fmt: skip


def test_near_duplicates_share_a_group_and_chains_join():
    texts = [
        "please stop vandalising the page about the old stone bridge in the village",
        "please stop vandalising the page about the old stone bridge in the village now",  # near 0
        "please stop vandalising the page about the old stone bridge in the village now ok",  # near 1
        "thanks for adding a citation to the second claim of the history section",
        "you are an idiot and everybody on this talk page knows it",
    ]
    groups = near_duplicate_groups(texts)
    assert groups[0] == groups[1] == groups[2]
    assert len({groups[0], groups[3], groups[4]}) == 3


def test_grouped_split_keeps_each_group_on_one_side():
    frame = make_comments(1000)
    groups = np.arange(1000) // 5  # 200 groups of five rows
    parts = split_frame(frame, seed=3, groups=groups)
    side_of_group = {}
    for name, part in parts.items():
        for group in groups[part.index]:
            assert side_of_group.setdefault(group, name) == name
    assert [len(parts[n]) for n in ("train", "validation", "test")] == [700, 100, 200]
    again = split_frame(frame, seed=3, groups=groups)
    assert all(parts[n]["id"].tolist() == again[n]["id"].tolist() for n in parts)


def test_clean_and_split_leaves_no_normalized_copy_across_splits():
    frame = make_comments(600)
    copies = frame.sample(60, random_state=0).assign(
        id=lambda d: d["id"] + "-copy", comment_text=lambda d: d["comment_text"].str.upper() + " !"
    )
    parts, report = clean_and_split(pd.concat([frame, copies]), seed=0)
    assert report["normalized_duplicates_removed"] == 60 and report["rows_out"] == 600
    keys = {name: set(part["comment_text"].map(normalized_key)) for name, part in parts.items()}
    assert not (keys["train"] & keys["test"] or keys["train"] & keys["validation"] or keys["validation"] & keys["test"])
