"""The live caption page under load: 200 viewers follow a real headless session on 127.0.0.1.

Runs ``live-translate --headless --input speech.wav --share-captions --jsonl`` twice against the
local imitations of the services: once with nobody watching (the baseline), once with ``--viewers``
(200) Server-Sent-Events viewers that join before the first word and read until the session ends.
It reports:

- delivery latency, per viewer and turn: from the turn's arrival in the app (the ``t`` the event
  log stamps when the session's listener hands it the turn) to the moment the viewer has read it;
  p50 / p95 / max over every (viewer, turn), and the same for translations;
- whether every viewer received every turn and translation (and how many were dropped);
- the app's added CPU: CPU time of the app process with viewers minus without, per second of audio
  and as a share of one core over the session.

The viewers run in this process, on one asyncio loop; on a two-core machine they compete with the
app for the CPU, so the latency includes their own reading and parsing (an upper bound).

    .venv/bin/python bench/caption_viewers.py [--viewers N] [--sentences N]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from fakes.llm_server import FakeLlmGateway  # noqa: E402
from fakes.streaming_server import FakeStreamingServer  # noqa: E402
from support.speech import make_speech_wav  # noqa: E402
from support.sse import AsyncViewer  # noqa: E402

KEY = "bench-key-0123456789"
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
         "mike"]
LANGUAGES = ("es", "de")


@dataclass
class Run:
    cpu_s: float
    wall_s: float
    audio_s: float
    turns: int
    viewers: list[AsyncViewer]


def run_session(speech: Path, sentences: list[str], tmp: Path, viewers: int) -> Run:
    env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "data"), "XDG_STATE_HOME": str(tmp / "st"),
           "ASSEMBLYAI_API_KEY": KEY, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    followers: list[AsyncViewer] = []
    with FakeStreamingServer(api_key=KEY, script=sentences) as stt, FakeLlmGateway(api_key=KEY, delay_s=0.3) as llm:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        argv = [sys.executable, "-m", "app", "--headless", "--input", str(speech), "--jsonl", "--share-captions",
                *(a for code in LANGUAGES for a in ("--to", code)), "--streaming-url", stt.url,
                "--llm-url", llm.base_url, "--out", str(tmp / "s")]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                              cwd=ROOT) as proc:
            assert proc.stdout is not None
            follow: threading.Thread | None = None
            events = []
            for line in proc.stdout:
                events.append(json.loads(line))
                if events[-1]["event"] == "session_started" and viewers:
                    url = urlsplit(events[-1]["captions_url"])
                    assert url.hostname is not None and url.port is not None
                    followers = [AsyncViewer(url.hostname, url.port, url.path + "events", stop_kind="closed")
                                 for _ in range(viewers)]
                    follow = threading.Thread(target=asyncio.run, args=(_follow(followers),))
                    follow.start()
            proc.wait(120)
            if follow is not None:
                follow.join(30)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ended = events[-1]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(cpu, wall, ended["audio_seconds"], ended["turns"], followers)


async def _follow(viewers: list[AsyncViewer]) -> None:
    await asyncio.wait_for(asyncio.gather(*(v.run() for v in viewers)), timeout=180)


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:.1f} / {p95 * 1000:.1f} / {ordered[-1] * 1000:.1f} ms"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--viewers", type=int, default=200)
    p.add_argument("--sentences", type=int, default=12)
    args = p.parse_args()
    sentences = [" ".join(WORDS[(i + k) % len(WORDS)] for k in range(6)).capitalize() + "."
                 for i in range(args.sentences)]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        speech = make_speech_wav(tmp / "speech.wav", sentences, pause_s=1.0)
        alone = run_session(speech, sentences, tmp / "alone", 0)
        watched = run_session(speech, sentences, tmp / "watched", args.viewers)
    turn_latency: list[float] = []
    translation_latency: list[float] = []
    complete = 0
    for viewer in watched.viewers:
        turns = [e for e in viewer.events if e.kind == "turn"]
        translations = [e for e in viewer.events if e.kind == "translation"]
        complete += len(turns) == watched.turns and len(translations) == watched.turns * len(LANGUAGES)
        turn_latency += [e.received_at - e.data["t"] for e in turns]
        translation_latency += [e.received_at - e.data["t"] for e in translations]
    added = watched.cpu_s - alone.cpu_s
    print(f"| measure ({args.viewers} viewers, {watched.turns} turns, {len(LANGUAGES)} languages, "
          f"{watched.audio_s:.1f} s of audio) | value |\n|---|---|")
    print(f"| viewers that received every turn and translation | {complete} of {len(watched.viewers)} |")
    print(f"| turn arrives in the app -> read by a viewer, p50 / p95 / max | {percentiles(turn_latency)} "
          f"({len(turn_latency)} deliveries) |")
    print(f"| translation arrives in the app -> read by a viewer, p50 / p95 / max | "
          f"{percentiles(translation_latency)} ({len(translation_latency)} deliveries) |")
    print(f"| app CPU, no viewers / {args.viewers} viewers | {alone.cpu_s:.2f} s / {watched.cpu_s:.2f} s |")
    print(f"| added CPU per second of audio | {added / watched.audio_s:.4f} s "
          f"({100 * added / watched.wall_s:.1f} % of one core over the {watched.wall_s:.0f} s session) |")
    return 0 if complete == len(watched.viewers) else 1


if __name__ == "__main__":
    sys.exit(main())
