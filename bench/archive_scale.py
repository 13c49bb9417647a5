"""How the session history answers at scale: an archive of 1,000 sessions and 1,000,000 turns (each
with a translation), built through the store's own bulk path (``SessionStore.bulk_add``: the same
tables, triggers and search indexes as every other write), then timed the way the window and the
terminal use it. Not a test: the figures go into the README.

Texts are made from a fixed-seed vocabulary with a Zipf-like spread, so there are very common
words (the first page of a search for one must not cost more than for a rare one), rare ones, and
words that are nowhere; 5 % of the sessions are Japanese and 3 % Chinese (their searches go
through the trigram index, and words of two characters through a substring test of those rows).

    .venv/bin/python bench/archive_scale.py [--sessions 1000] [--turns 1000] [--runs 25] [--db PATH] [--keep]

Each query is run ``--runs`` times after one warm-up; the table gives the median, the 95th
percentile and the slowest, in milliseconds, on this machine.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.transcript import Translation, TranslationStatus, Turn  # noqa: E402
from app.pipeline.archive import Archive  # noqa: E402
from app.store.db import BulkSession, NewSession, SessionStore  # noqa: E402

RARE = "zeppelin"  # in about ten turns of the whole archive
COMMON = "budget"  # in one turn of twenty
NOWHERE = "xylophonist"
JA_WORDS = ["会議", "予算", "東京", "資料", "確認", "来週", "担当", "報告", "計画", "問題", "今日", "明日", "お願い",
            "します", "ました", "について", "です", "の", "は", "を", "に", "が", "で"]
ZH_WORDS = ["会议", "预算", "北京", "资料", "确认", "下周", "负责", "报告", "计划", "问题", "今天", "明天", "的", "是",
            "在", "了", "我们"]
JA_RARE = "東京都庁舎"  # a five-character word, in a handful of turns


def vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    syllables = ["ka", "lo", "me", "ri", "sa", "to", "vu", "ne", "pa", "di", "zo", "fe", "gu", "hi", "ju", "mo",
                 "no", "pe", "ru", "si", "ta", "ve", "wa", "ye", "ba", "co", "da", "el", "fi", "go"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def sessions(count: int, turns: int, seed: int = 14) -> Iterator[BulkSession]:
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf: a few words everywhere, most rare
    rare_turns = {rng.randrange(count * turns) for _ in range(10)}
    start = time.time() - count * 86400
    for n in range(count):
        kind = "ja" if n % 20 == 3 else "zh" if n % 33 == 7 else "en"
        made: list[Turn] = []
        for i in range(turns):
            if kind == "en":
                picked = rng.choices(words, weights, k=rng.randint(6, 16))
                if rng.random() < 0.05:
                    picked[rng.randrange(len(picked))] = COMMON
                if n * turns + i in rare_turns:
                    picked[0] = RARE
                text = " ".join(picked).capitalize() + "."
                target, translated = "es", " ".join(w + "a" for w in picked).replace(COMMON + "a", "presupuesto")
            else:
                pool = JA_WORDS if kind == "ja" else ZH_WORDS
                text = "".join(rng.choices(pool, k=rng.randint(6, 14))) + "。"
                if kind == "ja" and rng.random() < 0.0005:
                    text = JA_RARE + text
                target, translated = "en", " ".join(rng.choices(words, weights, k=8))
            turn = Turn(index=i, segment=0, turn_order=i, text=text, start_ms=i * 3000, end_ms=i * 3000 + 2500,
                        finalized_at=start + n * 86400 + i * 3, formatted=True, language_code=kind)
            turn.translations[target] = Translation(target, translated, TranslationStatus.DONE,
                                                    model="gemini-2.5-flash-lite", latency_ms=400)
            made.append(turn)
        folder = Path(f"/bench/sessions/{n:04d}")
        yield BulkSession(NewSession(uid=f"bench-session-{n}", folder=folder, audio_path=folder / "audio.wav",
                                     source_language=kind, speech_model="universal-streaming-english",
                                     target_languages=(next(iter(made[0].translations)),),
                                     llm_model="gemini-2.5-flash-lite", started_at=start + n * 86400,
                                     title=f"Session {n}"), made)


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], object]:
    result = fn()  # warm-up (and the answer, for the table)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return times, result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--turns", type=int, default=1000)
    p.add_argument("--runs", type=int, default=25)
    p.add_argument("--db", type=Path, help="build (or reuse) the archive here")
    p.add_argument("--keep", action="store_true", help="keep the archive afterwards")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lt-archive-bench-")) if args.db is None else args.db.parent
    db = args.db or work / "sessions.db"
    try:
        if not db.exists():
            began = time.perf_counter()
            with SessionStore(db) as store:
                store.bulk_add(sessions(args.sessions, args.turns), per_transaction=10)
            built = time.perf_counter() - began
            print(f"built {args.sessions} sessions x {args.turns} turns in {built:.0f} s "
                  f"({args.sessions * args.turns / built:,.0f} turns/s, each with a translation)")
        size = sum(f.stat().st_size for f in db.parent.glob(db.name + "*"))
        print(f"archive: {size / 2**30:.2f} GB")
        opened = []
        for _ in range(5):
            began = time.perf_counter()
            SessionStore(db).close()
            opened.append((time.perf_counter() - began) * 1000)
        with SessionStore(db) as store:
            archive = Archive(store)
            newest = archive.sessions(limit=1)[0].id
            rows: list[tuple[str, list[float], str]] = [("open the archive", opened, "")]
            queries: list[tuple[str, Callable[[], object]]] = [
                ("history list, first page (50)", lambda: archive.overview(limit=50)),
                ("history list, page 11 (offset 500)", lambda: archive.overview(limit=50, offset=500)),
                ("load one session (1,000 turns)", lambda: archive.load(newest)),
            ]
            for label, query in [(f"common word “{COMMON}” (1 turn in 20)", COMMON), (f"rare word “{RARE}”", RARE),
                                 (f"two words “{COMMON} ka”", f"{COMMON} ka"), ("a prefix “budg”", "budg"),
                                 ("a word in the translations “presupuesto”", "presupuesto"),
                                 (f"no hit “{NOWHERE}”", NOWHERE), ("FTS5 syntax “NEAR(budget”", "NEAR(budget"),
                                 ("Japanese, 2 characters “会議” (common)", "会議"),
                                 (f"Japanese, 5 characters “{JA_RARE}” (rare)", JA_RARE),
                                 ("Japanese, 2 characters found nowhere else “庁舎” (a scan of the unspaced rows)",
                                  "庁舎"),
                                 ("Chinese, 2 characters “预算”", "预算"),
                                 ("two Japanese words “会議 予算”", "会議 予算")]:
                queries.append((f"search, first page (50): {label}", lambda q=query: archive.find(q, limit=50)))
            for label, fn in queries:
                times, answer = timed(fn, args.runs)
                found = f"{len(answer)} hits" if isinstance(answer, list) and "search" in label else ""
                rows.append((label, times, found))
        print()
        print("| query | median | p95 | max | answer |")
        print("|---|---|---|---|---|")
        for label, times, found in rows:
            ordered = sorted(times)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            print(f"| {label} | {statistics.median(ordered):.1f} ms | {p95:.1f} ms | {ordered[-1]:.1f} ms | {found} |")
    finally:
        if not args.keep and args.db is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
