"""Are the word explanations faithful? Measured on validation comments the model flags -> results/explain.json.

    python scripts/explain_faithfulness.py                        # the shipped model, served backend
    python scripts/explain_faithfulness.py --model outputs/student-odd --backend torch

Comprehensiveness (DeYoung et al. 2020, ERASER): the drop in P(toxic) when the k words with the highest
attribution are deleted, against deleting k words drawn at random from the same comment (seeded): faithful
attributions make the first drop much larger. Agreement: the share of flagged comments whose top word is on the
profanity word list of PyPI `better-profanity==0.7.0`, next to the share that contain a listed word at all.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from toxiclf.data.splits import DEFAULT_SEED, EMBEDDED, TEXT_COLUMN, load_splits  # noqa: E402
from toxiclf.inference.classifier import load_classifier  # noqa: E402
from toxiclf.inference.explain import explain, without_span  # noqa: E402
from toxiclf.paths import RESULTS_DIR, SHIPPED_MODEL_DIR, sha256_file, shown_path  # noqa: E402
from toxiclf.provenance import device_info, git_commit  # noqa: E402


def profanity_words() -> set[str]:
    text = files("better_profanity").joinpath("profanity_wordlist.txt").read_text()
    return {line.strip().lower() for line in text.splitlines() if line.strip()}


def delete_spans(text: str, spans: list[dict]) -> str:
    for span in sorted(spans, key=lambda s: -s["start"]):  # from the end: earlier offsets stay valid
        text = without_span(text, span["start"], span["end"])
    return text


def measure(classifier, texts: list[str], ks, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    explanations = explain(classifier, texts)
    seconds = time.perf_counter() - started
    base = classifier.scores(texts)
    comprehensiveness = {}
    for k in ks:
        sources, top_variants, random_variants = [], [], []
        for i, (text, spans) in enumerate(zip(texts, explanations, strict=True)):
            if len(spans) <= k:
                continue  # deleting every word says nothing about which words mattered
            ranked = sorted(spans, key=lambda s: -s["score"])
            drawn = rng.choice(len(spans), size=k, replace=False)
            sources.append(i)
            top_variants.append(delete_spans(text, ranked[:k]))
            random_variants.append(delete_spans(text, [spans[j] for j in drawn]))
        if sources:
            comprehensiveness[str(k)] = {
                "comments": len(sources),
                "top_k_drop": round(float(np.mean(base[sources] - classifier.scores(top_variants))), 4),
                "random_k_drop": round(float(np.mean(base[sources] - classifier.scores(random_variants))), 4),
            }
    words = profanity_words()
    tops = [max(spans, key=lambda s: s["score"]) if spans else None for spans in explanations]
    top_listed = np.array([top is not None and top["text"].lower() in words for top in tops])
    any_listed = np.array([any(s["text"].lower() in words for s in spans) for spans in explanations])
    # Where the explanation points away from a listed word: the cases a moderator should look at twice.
    unlisted_tops = [
        {"comment": text[:300], "top_word": top["text"], "score": round(top["score"], 3)}
        for text, top, listed in zip(texts, tops, top_listed, strict=True)
        if top and not listed
    ][:8]
    return {
        "comprehensiveness": comprehensiveness,
        "profanity_list": {
            "source": "better-profanity==0.7.0 profanity_wordlist.txt (single words only match)",
            "top_word_listed_share": round(float(np.mean(top_listed)), 4),
            "any_word_listed_share": round(float(np.mean(any_listed)), 4),
            "top_word_listed_share_of_those_with_a_listed_word": round(float(top_listed[any_listed].mean()), 4)
            if any_listed.any()
            else None,
        },
        "examples_top_word_not_listed": unlisted_tops,
        "explain_ms_per_comment": round(1000 * seconds / len(texts), 1),
        "words_per_comment_median": statistics.median(len(s) for s in explanations),
    }


def request_latency(classifier, texts: list[str], repeats: int = 5) -> dict:
    """Median milliseconds to explain one comment of median length and one of 200 words, on this machine."""
    by_length = sorted(texts, key=len)
    median_comment = by_length[len(by_length) // 2]
    long_comment = " ".join((" ".join(texts)).split()[:200])
    latency = {}
    for name, text in (("median_length_comment", median_comment), ("comment_of_200_words", long_comment)):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            explain(classifier, [text])
            times.append((time.perf_counter() - started) * 1000)
        latency[name] = {"words": len(text.split()), "ms_median": round(statistics.median(times), 1)}
    return latency


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR, help="model folder")
    parser.add_argument("--backend", default="auto", help="auto (the served one), torch, onnx-int8")
    parser.add_argument("--dataset", default=EMBEDDED, help="'embedded' or a local folder")
    parser.add_argument("--validation-rows", type=int, default=4000, help="validation comments searched for flags")
    parser.add_argument("--max-comments", type=int, default=300, help="flagged comments explained")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 3, 5], help="words deleted")
    parser.add_argument("--threshold", type=float, help="what counts as flagged (default: the model's threshold)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "explain.json")
    args = parser.parse_args(argv)

    validation = load_splits(args.dataset, args.seed)["validation"]
    texts = validation[TEXT_COLUMN][: args.validation_rows]
    classifier = load_classifier(args.model, args.backend, **({"threshold": args.threshold}
                                                               if args.threshold is not None else {}))  # fmt: skip
    scores = classifier.scores(texts)
    flagged = [t for t, s in zip(texts, scores, strict=True) if s >= classifier.threshold][: args.max_comments]
    if not flagged:
        raise SystemExit("error: the model flags none of these validation comments; nothing to explain")
    result = {
        "command": " ".join(["python scripts/explain_faithfulness.py", *(argv if argv is not None else sys.argv[1:])]),
        "method": "occlusion: P(toxic) minus P(toxic) with the word deleted, one forward pass per word",
        "model": shown_path(args.model),
        "model_sha256": sha256_file(args.model / "model.safetensors"),
        "backend": classifier.backend,
        "threshold": classifier.threshold,
        "validation_rows_searched": len(texts),
        "flagged_comments_explained": len(flagged),
        **measure(classifier, flagged, args.k, args.seed),
        "latency": request_latency(classifier, flagged),
        "device": device_info(),
        "git_commit": git_commit(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("device",)}, indent=2))


if __name__ == "__main__":
    main()
