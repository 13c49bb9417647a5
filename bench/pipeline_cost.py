"""What a live session costs and how quickly it answers, measured as ratios in one run against the
local imitations of the services:

- CPU time of the app process per second of audio (capture, WAV, socket, turns, translation);
- time from a turn's final to its translation, less the imitation LLM's own delay (our overhead);
- how long ``Ctrl+C`` takes to end the session (it waits for the last turn and its translation);
- real time factor of the session (wall time / audio time: 1.0 means it kept pace).

    .venv/bin/python bench/pipeline_cost.py [--sentences N] [--llm-delay S]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from fakes.llm_server import FakeLlmGateway  # noqa: E402
from fakes.streaming_server import FakeStreamingServer  # noqa: E402
from support.speech import make_speech_wav  # noqa: E402

KEY = "bench-key-0123456789"
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
         "mike"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sentences", type=int, default=12)
    p.add_argument("--llm-delay", type=float, default=0.3)
    args = p.parse_args()
    sentences = [" ".join(WORDS[(i + k) % len(WORDS)] for k in range(5)).capitalize() + "."
                 for i in range(args.sentences)]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        speech = make_speech_wav(tmp / "speech.wav", sentences, pause_s=1.0)
        env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "data"), "XDG_STATE_HOME": str(tmp / "st"),
               "ASSEMBLYAI_API_KEY": KEY, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        with FakeStreamingServer(api_key=KEY, script=sentences) as stt, \
                FakeLlmGateway(api_key=KEY, delay_s=args.llm_delay) as llm:
            started = time.monotonic()
            with subprocess.Popen([sys.executable, "-m", "app", "--headless", "--input", str(speech), "--jsonl",
                                   "--to", "es", "--to", "de", "--streaming-url", stt.url, "--llm-url", llm.base_url,
                                   "--out", str(tmp / "s")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, env=env, cwd=ROOT) as proc:
                assert proc.stdout is not None
                events = []
                for line in proc.stdout:
                    events.append(json.loads(line))
                    if events[-1]["event"] == "translation" and events[-1]["turn"] == args.sentences - 2:
                        break
                stop_at = time.monotonic()
                proc.send_signal(signal.SIGINT)
                events += [json.loads(line) for line in proc.stdout]
                proc.wait(60)
                stopped = time.monotonic()
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    ended = events[-1]
    audio_s = ended["audio_seconds"]
    cpu_s = usage.ru_utime + usage.ru_stime
    latencies = [e["latency_ms"] for e in events if e["event"] == "translation" and e["status"] == "done"]
    overhead = [ms - args.llm_delay * 1000 for ms in latencies]
    print("| measure | value |\n|---|---|")
    print(f"| audio streamed | {audio_s:.1f} s, {ended['turns']} turns, 2 languages |")
    print(f"| app CPU per audio second | {cpu_s / audio_s:.3f} "
          f"(CPU {cpu_s:.2f} s for {audio_s:.1f} s of audio, incl. start-up) |")
    print(f"| real-time factor (wall / audio until Ctrl+C) | {(stop_at - started) / audio_s:.2f} |")
    print(f"| final -> translation, minus the LLM's {args.llm_delay:.1f} s | "
          f"median {statistics.median(overhead):.0f} ms, "
          f"max {max(overhead):.0f} ms over {len(overhead)} translations |")
    print(f"| Ctrl+C -> process exit (last turn translated first) | {stopped - stop_at:.2f} s |")
    print(f"| turns / translations done / failed | {ended['turns']} / {ended['translations_done']} / "
          f"{ended['translations_failed']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
