"""Measures the figures the README reports for reliability, against the local imitations:

1. five socket drops in one session: is the WAV byte-identical, how many spoken sentences were
   transcribed, how many fell in gap markers, how long the gaps were, duplicates;
2. the LLM failing its first three calls: were all turns translated, in order, and how much later;
3. kill -9 mid-session: how much audio the recovered WAV lacks versus what the service had heard,
   and how many final turns came back;
4. a network path that dies mid-sentence without a close (the TCP relay stops forwarding), with
   the default liveness timings: how long until a new session is open, the gap, what came after.

    .venv/bin/python bench/reliability_figures.py

Takes about a minute (sessions run at real time, as the service demands). Prints a Markdown table.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from fakes.llm_server import FakeLlmGateway  # noqa: E402
from fakes.relay import TcpRelay  # noqa: E402
from fakes.streaming_server import FakeStreamingServer, Fault  # noqa: E402
from session_rig import KEY, make_session, pcm_frames, run_to_end, speech_segments  # noqa: E402
from support.speech import make_speech_wav  # noqa: E402

from app.core.transcript import TranslationStatus  # noqa: E402
from app.pipeline.recovery import recover_unfinished  # noqa: E402
from app.store.db import SessionStore  # noqa: E402

SENTENCES = [
    "Good morning everyone.", "Let us begin with the first item.", "The numbers look good this quarter.",
    "Sales went up in every region.", "Costs stayed where they were.", "We hired three new people.",
    "Next week we visit the new office.", "Any questions so far?", "Thank you, that is all.",
]


def drops(tmp: Path, speech: Path) -> dict[str, object]:
    faults = [Fault(drop_after_s=2.5 + k * 0.6) for k in range(5)]
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, faults=faults) as stt, FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        summary = run_to_end(session, rec, timeout=120)
    turns, gaps = session.transcript.turns(), session.transcript.gaps()
    segments = speech_segments(pcm_frames(speech))
    in_turn = sum(any(s[0] < t.end_ms and t.start_ms < s[1] for t in turns) for s in segments)
    in_gap_only = sum(
        not any(s[0] < t.end_ms and t.start_ms < s[1] for t in turns)
        and any(s[0] < g.end_ms and g.start_ms < s[1] for g in gaps) for s in segments)
    return {
        "wav_identical": pcm_frames(summary.audio_path) == pcm_frames(speech),
        "audio_s": round(summary.audio_seconds, 2),
        "reconnects": summary.reconnects,
        "spoken_segments": len(segments),
        "transcribed": in_turn,
        "in_gap_marker_only": in_gap_only,
        "lost": len(segments) - in_turn - in_gap_only,
        "gaps": len(gaps),
        "gap_s_total": round(sum(g.end_ms - g.start_ms for g in gaps) / 1000, 2),
        "gap_s_median": round(statistics.median(g.end_ms - g.start_ms for g in gaps) / 1000, 2) if gaps else 0,
        "duplicate_turns": len(turns) - len({t.text for t in turns}),
    }


def llm_failures(tmp: Path, speech: Path) -> dict[str, object]:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES[:3]) as stt, \
            FakeLlmGateway(api_key=KEY, fail_first=3, fail_status=500) as llm:
        session, rec = make_session(tmp, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        run_to_end(session, rec)
    done = [(i, tr) for i, tr in rec.translations if tr.status is TranslationStatus.DONE]
    return {
        "turns": len(session.transcript.turns()),
        "translated": len(done),
        "in_order": [i for i, _ in done] == sorted(i for i, _ in done),
        "latency_ms": [tr.latency_ms for _, tr in done],
    }


def kill9(tmp: Path, speech: Path) -> dict[str, object]:
    home = tmp / "home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "ASSEMBLYAI_API_KEY": KEY,
           "XDG_STATE_HOME": str(home / "state"), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        with subprocess.Popen([sys.executable, "-m", "app", "--headless", "--input", str(speech), "--jsonl",
                               "--streaming-url", stt.url, "--llm-url", llm.base_url, "--out", str(tmp / "s")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT) as proc:
            assert proc.stdout is not None
            turns_seen = []
            for line in proc.stdout:
                event = json.loads(line)
                if event["event"] == "turn":
                    turns_seen.append(event["text"])
                    if len(turns_seen) == 3:
                        break
            stt.wait_for_audio(stt.connections[0].audio_seconds + 0.7, timeout=10)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            heard = stt.connections[0].audio_seconds
    with SessionStore(home / "data" / "live-translate" / "sessions.db") as store:
        [rec] = recover_unfinished(store)
        recovered_turns = [t.text for t in store.load_transcript(rec.session_id).turns()]
    with wave.open(str(rec.audio_path)) as w:
        seconds = w.getnframes() / w.getframerate()
    return {
        "service_heard_s": round(heard, 2),
        "recovered_wav_s": round(seconds, 2),
        "shortfall_s": round(max(0.0, heard - seconds), 2),
        "final_turns_before_kill": len(turns_seen),
        "recovered_turns": len(recovered_turns),
        "all_recovered": recovered_turns[:len(turns_seen)] == turns_seen,
    }


def dead_path(tmp: Path, speech: Path) -> dict[str, object]:
    stalled_at: list[float] = []
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, TcpRelay(stt.port) as relay, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp, stt_url=relay.ws_url(), llm_url=llm.base_url, input_wav=speech)

        def die_mid_sentence() -> None:
            stt.wait_for_sent(lambda m: m.get("type") == "Turn" and m["turn_order"] == 2, timeout=60)
            relay.stall()
            stalled_at.append(time.monotonic())

        summary = run_to_end(session, rec, timeout=120, during=die_mid_sentence)
        reopened = stt.connections[1].opened_at if len(stt.connections) > 1 else None
    gaps = session.transcript.gaps()
    return {
        "stall_to_new_session_s": round(reopened - stalled_at[0], 2) if reopened is not None else None,
        "reconnects": summary.reconnects,
        "gap_s": round(sum(g.end_ms - g.start_ms for g in gaps) / 1000, 2),
        "turns_after_reconnect": sum(t.segment > 0 for t in session.transcript.turns()),
        "wav_identical": pcm_frames(summary.audio_path) == pcm_frames(speech),
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        speech = make_speech_wav(tmp / "long.wav", SENTENCES, pause_s=1.0)
        short = make_speech_wav(tmp / "short.wav", SENTENCES[:3], pause_s=1.0)
        results = {
            "five drops": drops(tmp / "a", speech),
            "LLM fails first 3 calls": llm_failures(tmp / "b", short),
            "kill -9 after 3 turns": kill9(tmp / "c", speech),
            "network path dies mid-sentence": dead_path(tmp / "d", speech),
        }
    print("| scenario | figures |\n|---|---|")
    for name, figures in results.items():
        print(f"| {name} | " + ", ".join(f"{k} = {v}" for k, v in figures.items()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
