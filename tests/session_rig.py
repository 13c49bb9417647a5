"""Runs a real ``LiveSession`` in-process against the local fake services, for component and
fault-injection tests: real sockets, real WAV files, real SQLite; only the services are imitations.
"""
from __future__ import annotations

import array
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.audio.source import AudioSource
from app.audio.wav_source import WavFileSource
from app.core.errors import AppError
from app.core.settings import ReconnectPolicy, Settings
from app.core.transcript import Gap, Translation, Turn
from app.pipeline.events import SessionState, SessionSummary
from app.pipeline.factory import SessionRequest, build_session
from app.pipeline.session import LiveSession
from app.store.db import SessionStore

KEY = "rig-secret-key-0123456789"
FAST_RECONNECT = ReconnectPolicy(first_delay_s=0.05, factor=2.0, max_delay_s=0.4, jitter=(0.8, 1.2))


@dataclass
class Recorder:
    """A SessionListener that keeps everything, thread-safely."""

    states: list[tuple[SessionState, str]] = field(default_factory=list)
    interims: list[str] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    revised: list[Turn] = field(default_factory=list)
    translations: list[tuple[int, Translation]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    errors: list[AppError] = field(default_factory=list)
    rate_limits: list[tuple[int, float]] = field(default_factory=list)
    summary: SessionSummary | None = None
    levels: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.ended = threading.Event()

    def state_changed(self, state: SessionState, detail: str) -> None:
        with self.lock:
            self.states.append((state, detail))

    def interim_changed(self, text: str) -> None:
        with self.lock:
            self.interims.append(text)

    def turn_finalized(self, turn: Turn) -> None:
        with self.lock:
            self.turns.append(turn)

    def turn_revised(self, turn: Turn) -> None:
        with self.lock:
            self.revised.append(turn)

    def translation_updated(self, index: int, translation: Translation) -> None:
        with self.lock:
            self.translations.append((index, translation))

    def gap_added(self, gap: Gap) -> None:
        with self.lock:
            self.gaps.append(gap)

    def level_changed(self, dbfs: float) -> None:
        with self.lock:
            self.levels += 1

    def error_occurred(self, error: AppError) -> None:
        with self.lock:
            self.errors.append(error)

    def rate_limit_changed(self, waiting: int, resume_in_s: float) -> None:
        with self.lock:
            self.rate_limits.append((waiting, resume_in_s))

    def session_ended(self, summary: SessionSummary) -> None:
        with self.lock:
            self.summary = summary
        self.ended.set()


def make_session(tmp: Path, *, stt_url: str, llm_url: str, input_wav: Path | None = None,
                 source: AudioSource | None = None, targets: tuple[str, ...] = ("es",),
                 store: SessionStore | None = None, reconnect: ReconnectPolicy = FAST_RECONNECT,
                 format_turns: bool = True, key: str = KEY, spoken: str | None = None,
                 other_source: AudioSource | None = None, **settings_changes: object) -> tuple[LiveSession, Recorder]:
    """A session on the fakes. ``spoken`` is the spoken language (``Settings.source``); other
    ``settings_changes`` go into its ``Settings`` as they are (speech_model=..., mode=...)."""
    settings = Settings(targets=targets, streaming_url=stt_url, llm_url=llm_url, format_turns=format_turns,
                        source=spoken, **settings_changes)  # type: ignore[arg-type]
    request = SessionRequest(settings=settings, secrets={"assemblyai": key}, sessions_dir=tmp / "sessions",
                             input_file=input_wav, reconnect=reconnect)
    recorder = Recorder()
    if source is None and input_wav is not None:
        source = WavFileSource(input_wav, realtime=True)
    session = build_session(request, recorder, store=store, source=source, other_source=other_source)
    return session, recorder


def run_to_end(session: LiveSession, recorder: Recorder, timeout: float = 90.0,
               during: Callable[[], None] | None = None) -> SessionSummary:
    """Run the session on its threads until it ends; ``during`` runs on the test thread meanwhile
    (to inject a fault at a chosen moment)."""
    session.prepare()
    capture, streaming = session.start_threads()
    if during is not None:
        during()
    assert recorder.ended.wait(timeout), "the session did not end"
    capture.join(10)
    streaming.join(10)
    assert not capture.is_alive() and not streaming.is_alive()
    assert recorder.summary is not None
    return recorder.summary


def pcm_frames(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


def speech_segments(pcm: bytes, *, threshold: float = 500.0, window_ms: int = 20,
                    end_silence_ms: int = 300, min_ms: int = 100) -> list[tuple[int, int]]:
    """(start_ms, end_ms) of the stretches of speech in 16 kHz mono s16le audio."""
    samples = array.array("h", pcm)
    step = 16 * window_ms
    segments: list[tuple[int, int]] = []
    start: int | None = None
    last_loud = 0
    for i in range(0, len(samples) - step + 1, step):
        window = samples[i:i + step]
        rms = (sum(s * s for s in window) / len(window)) ** 0.5
        t = i // 16
        if rms >= threshold:
            if start is None:
                start = t
            last_loud = t + window_ms
        elif start is not None and t - last_loud >= end_silence_ms:
            if last_loud - start >= min_ms:
                segments.append((start, last_loud))
            start = None
    if start is not None and last_loud - start >= min_ms:
        segments.append((start, last_loud))
    return segments


def cli_env(home: Path, key: str | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running ``python -m app`` as a fresh user: private folders, no keyring, and
    the key (if any) only in ``ASSEMBLYAI_API_KEY``."""
    import os

    env = {k: v for k, v in (base if base is not None else os.environ).items() if k != "ASSEMBLYAI_API_KEY"}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"),
               XDG_CONFIG_HOME=str(home / "config"), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    if key is not None:
        env["ASSEMBLYAI_API_KEY"] = key
    return env
