"""What one request per turn buys over one request per language, under the LLM Gateway's rate limit.

Runs the app's translation queue (with the real ``ChatTranslator`` and ``RateLimitPacer``) against
the local imitation of the gateway, which enforces ``--limit`` requests per minute per model like a
paid account's start (30) and answers in ``--llm-delay`` s plus ``--per-language`` s for each
language in the request (a model writing more takes longer). Turns arrive every 60 /
``--turns-per-minute`` seconds. For 1, 3 and 10 targets, one request per language and (for several)
one request per turn, it reports:

- requests per minute actually sent, and how many were refused (429);
- tokens per turn (input + output, as the imitation counts them: ceil(characters / 4) per message,
  OpenAI's rule of thumb; every request carries the system prompt, so this is mostly input);
- lag p50 / p95: from the moment a turn is final to its translation being handed over, over every
  cell (a turn's cells arrive together on the one-request path).

Time is compressed: one minute lasts ``--minute`` seconds (default 6: ten times faster), and the
imitation's rate window, its delays and the pacer's margin are scaled with it; the figures are
scaled back to real minutes and seconds. Local HTTP costs a few milliseconds, which the scaling
multiplies, so lags are a little pessimistic at the default. ``--minute 60`` runs at real time.

    .venv/bin/python bench/translation_requests.py [--turns 40] [--minute 6]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from fakes.llm_server import FakeLlmGateway  # noqa: E402

from app.core.languages import resolve_language  # noqa: E402
from app.core.transcript import TranslationStatus  # noqa: E402
from app.translate.gateway import ChatTranslator  # noqa: E402
from app.translate.pacing import RESET_MARGIN_S, RateLimitPacer  # noqa: E402
from app.translate.queue import TranslationQueue, TranslationUpdate  # noqa: E402

KEY = "bench-key-0123456789"
TARGETS = ["es", "de", "fr", "it", "pt", "ja", "zh", "ko", "nl", "pl"]
TEXT = ("the quarterly numbers look better than we expected and the team did a great job on the new office "
        "plans while sales went up in every region except the north where costs stayed flat")
WORDS = TEXT.split(" ")


@dataclass
class Run:
    targets: int
    one_request: bool
    requests_per_minute: float
    refused: int
    tokens_per_turn: float
    lag_p50_s: float
    lag_p95_s: float
    failed: int


def sentence(i: int) -> str:
    return " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(12)).capitalize() + "."


def run(targets: int, one_request: bool, args: argparse.Namespace) -> Run:
    scale = args.minute / 60.0  # bench seconds per real second
    languages = [resolve_language(code) for code in TARGETS[:targets]]

    def delay(payload: Any, n: int) -> float:
        system = str(payload["messages"][0]["content"]) if isinstance(payload, dict) else ""
        count = max(1, sum(line.startswith("- ") for line in system.splitlines()))
        return (args.llm_delay + args.per_language * count) * scale

    updates: list[TranslationUpdate] = []
    lock = threading.Lock()

    def on_update(update: TranslationUpdate) -> None:
        with lock:
            updates.append(update)

    pacer = RateLimitPacer(margin_s=RESET_MARGIN_S * scale)
    with FakeLlmGateway(api_key=KEY, rate_limit=args.limit, rate_window_s=args.minute, delay_s=delay) as llm, \
            ChatTranslator(KEY, base_url=llm.base_url, pacer=pacer, timeout=(5.0, 60.0)) as translator:
        queue = TranslationQueue(translator, languages, on_update, pacer=pacer, batch=one_request)
        interval = args.minute / args.turns_per_minute
        started = time.monotonic()
        for i in range(args.turns):
            due = started + i * interval
            threading.Event().wait(max(0.0, due - time.monotonic()))
            queue.submit(i, sentence(i), finalized_at=time.monotonic())
        queue.close(timeout=None)
        answers = llm.answers
        requests = llm.chat_requests
    # Over the time the requests took to go out, but never less than the speech lasted.
    span_s = max(r.arrived_at for r in requests) - min(r.arrived_at for r in requests)
    minutes = max(span_s, interval * args.turns) / args.minute
    done = [u.translation for u in updates if u.translation.status is TranslationStatus.DONE]
    lags = sorted((t.latency_ms or 0) / 1000 / scale for t in done)
    tokens = sum(a.input_tokens + a.output_tokens for a in answers if a.status == 200)
    return Run(
        targets=targets, one_request=one_request, requests_per_minute=len(requests) / minutes,
        refused=sum(a.status == 429 for a in answers), tokens_per_turn=tokens / args.turns,
        lag_p50_s=statistics.median(lags), lag_p95_s=lags[max(0, round(0.95 * len(lags)) - 1)],
        failed=sum(u.translation.status is TranslationStatus.FAILED for u in updates),
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--turns", type=int, default=40)
    p.add_argument("--turns-per-minute", type=float, default=20.0)
    p.add_argument("--limit", type=int, default=30, help="requests per minute per model")
    p.add_argument("--minute", type=float, default=6.0, help="seconds one minute lasts in this run")
    p.add_argument("--llm-delay", type=float, default=0.4, help="seconds a request takes (real time)")
    p.add_argument("--per-language", type=float, default=0.15, help="seconds more per language in the request")
    args = p.parse_args()
    configs = [(1, False), (3, False), (3, True), (10, False), (10, True)]
    print(f"{args.turns} turns at {args.turns_per_minute:g} a minute, limit {args.limit} requests a minute, "
          f"LLM {args.llm_delay:g} s + {args.per_language:g} s per language; one minute lasted {args.minute:g} s\n")
    print("| targets | requests go | requests/min | 429s | tokens/turn | lag p50 | lag p95 | not translated |")
    print("|---|---|---|---|---|---|---|---|")
    for targets, one_request in configs:
        r = run(targets, one_request, args)
        path = "one per language" if not one_request and targets > 1 else "one per turn"
        print(f"| {r.targets} | {path} | {r.requests_per_minute:.1f} | {r.refused} | {r.tokens_per_turn:.0f} | "
              f"{r.lag_p50_s:.1f} s | {r.lag_p95_s:.1f} s | {r.failed} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
