"""What a headless session prints: the terminal's streams that never stop a recording, the
listener that prints turns and translations in order (``--jsonl``: one JSON object per event),
the session's last line, and the device list of ``--list-devices``.

Called from several threads (capture, streaming, translation); the listener prints under one lock.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from app.core.errors import AppError
from app.core.timefmt import clock
from app.core.transcript import SAME_LANGUAGE as ORIGINAL_MODEL
from app.core.transcript import Gap, Translation, TranslationStatus, Turn
from app.pipeline.events import SessionState, SessionSummary, nothing_kept_text, rate_limit_text

FINISHING_REPEAT_S = 3.0


def summary_line(summary: SessionSummary) -> str:
    """The last line of a terminal session: where it is and what it holds, with true counts."""
    if summary.discarded:
        return nothing_kept_text(summary)
    where = f"Session saved in {summary.folder} ({summary.audio_seconds:.1f} s of audio"
    if not summary.transcribed:
        return (f"{where}). Nothing was transcribed: the streaming service could not be reached. "
                "Transcribe it when the service can be reached: live-translate sessions transcribe last "
                "(or the History window's Transcribe gaps).")
    not_done = (f", {summary.translations_failed} not translated (see the transcript)"
                if summary.translations_failed else "")
    gaps = f", {len(summary.gaps)} gaps without transcript" if summary.gaps else ""
    turns = f"{summary.turns} turn{'s' if summary.turns != 1 else ''}"
    done = f"{summary.translations_done} translation{'s' if summary.translations_done != 1 else ''}"
    return f"{where}, {turns}, {done}{not_done}{gaps})."


class OutputStream:
    """One of the terminal's streams. Writing never raises: a stream that fails is turned off (and
    its file descriptor pointed at /dev/null, so the interpreter's last flush stays quiet); a closed
    pipe also calls ``on_closed`` once; text the stream cannot encode is written escaped."""

    def __init__(self, stream: TextIO, on_closed: Callable[[], None] | None = None) -> None:
        self._stream = stream
        self._on_closed = on_closed
        self.off = False
        try:
            self.tty = stream.isatty()
        except (OSError, ValueError):
            self.tty = False

    def write(self, text: str) -> None:
        if self.off:
            return
        try:
            try:
                self._stream.write(text)
            except UnicodeEncodeError:
                # A file name with bytes that are not UTF-8 (kept as surrogates), or a narrow
                # terminal encoding: write it escaped rather than lose the line.
                encoding = getattr(self._stream, "encoding", None) or "utf-8"
                self._stream.write(text.encode(encoding, "backslashreplace").decode(encoding, "replace"))
            self._stream.flush()
        except BrokenPipeError:
            self._turn_off()
            if self._on_closed is not None:
                self._on_closed()
        except (OSError, ValueError):  # ENOSPC (/dev/full), EIO (terminal gone), a closed file
            self._turn_off()

    def _turn_off(self) -> None:
        self.off = True
        try:
            fd = self._stream.fileno()
        except (OSError, ValueError, AttributeError):
            return  # not a real file (tests pass StringIO): nothing will flush it at exit
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)


class TerminalListener:
    """Prints the session. Called from several threads; everything goes through one lock."""

    def __init__(self, targets: Sequence[str], *, jsonl: bool, out: TextIO, err: TextIO,
                 on_output_closed: Callable[[], None] | None = None, sides: Mapping[str, str] | None = None) -> None:
        self.targets = list(targets)
        self.sides = dict(sides) if sides else None  # two-way: each side's name ("You", "Them")
        self.jsonl = jsonl
        self.out = OutputStream(out, on_closed=on_output_closed)
        self.err = OutputStream(err)
        self.tty = self.out.tty and not jsonl
        self._lock = threading.Lock()
        self._turns: dict[int, Turn] = {}
        self._last_state_line = ""
        self._next_to_print = 0
        self._interim_shown = False
        self._finishing_said_at = 0.0
        self._rate_limit_said_at = 0.0
        self.errors: list[AppError] = []

    def _emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "time": round(time.time(), 3), **fields}, ensure_ascii=False)
        # A file name whose bytes are not UTF-8 carries lone surrogates: as JSON escapes
        # ("\udce9") the line stays valid UTF-8 and valid JSON.
        self.out.write(line.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")

    def say(self, text: str) -> None:
        """A line for the person at the terminal (stderr), from any thread."""
        with self._lock:
            self._clear_interim()
            self.err.write(text + "\n")

    def _clear_interim(self) -> None:
        if self._interim_shown:
            self.out.write("\r\033[K")
            self._interim_shown = False

    def state_changed(self, state: SessionState, detail: str) -> None:
        with self._lock:
            if self.jsonl:
                self._emit("state", state=state.value, detail=detail)
                return
            if state is SessionState.FINISHING and detail:
                # "finishing 48 translations…" counts down: say it at most every few seconds.
                now = time.monotonic()
                if now - self._finishing_said_at < FINISHING_REPEAT_S:
                    return
                self._finishing_said_at = now
            if state in (SessionState.CONNECTING, SessionState.OFFLINE, SessionState.RECONNECTING,
                         SessionState.LIVE, SessionState.FINISHING):
                line = f"[{detail or state.value}]"
                if line == self._last_state_line:
                    return  # "finishing" once more, with nothing new to say
                self._last_state_line = line
                self._clear_interim()
                self.err.write(line + "\n")

    def interim_changed(self, text: str) -> None:
        with self._lock:
            if self.jsonl:
                self._emit("interim", text=text)
            elif self.tty:
                width = max(20, shutil.get_terminal_size().columns - 1)
                shown = text if len(text) <= width else "…" + text[-(width - 1):]
                self.out.write("\r\033[K" + shown)
                self._interim_shown = bool(text)

    def turn_finalized(self, turn: Turn) -> None:
        with self._lock:
            self._turns[turn.index] = turn
            if self.jsonl:
                self._emit("turn", turn=turn.index, segment=turn.segment, turn_order=turn.turn_order, text=turn.text,
                           start_ms=turn.start_ms, end_ms=turn.end_ms, language=turn.language_code,
                           speaker=turn.speaker, side=turn.side,
                           **({"echo_of": turn.echo_of} if turn.echo_of is not None else {}))
            self._print_ready()

    def turn_revised(self, turn: Turn) -> None:
        with self._lock:
            known = self._turns.get(turn.index)
            if known is not None:
                turn.translations = known.translations  # the copy carries what arrived since
            self._turns[turn.index] = turn
            if self.jsonl:
                self._emit("speaker", turn=turn.index, speaker=turn.speaker)
            elif turn.index < self._next_to_print:  # already printed: say what changed
                self._clear_interim()
                self.out.write(f"[{clock(turn.start_ms, sep='')}] (said by {turn.speaker})\n")

    def translation_updated(self, index: int, translation: Translation) -> None:
        with self._lock:
            turn = self._turns.get(index)
            if turn is not None:
                turn.translations[translation.language] = translation
            if self.jsonl and translation.status is not TranslationStatus.PENDING:
                self._emit("translation", turn=index, language=translation.language, text=translation.text,
                           status=translation.status.value, latency_ms=translation.latency_ms,
                           **({"error": translation.error} if translation.error else {}))
            self._print_ready()

    def _print_ready(self) -> None:
        """Human output: each turn with all its translations, in turn order, once settled."""
        if self.jsonl:
            return
        while (turn := self._turns.get(self._next_to_print)) is not None:
            echo = turn.echo_of is not None
            settled = echo or all(
                (tr := turn.translations.get(lang)) is not None and tr.status is not TranslationStatus.PENDING
                for lang in self.targets
            )
            if not settled:
                return
            self._clear_interim()
            stamp = clock(turn.start_ms, sep="")
            heard = f"({turn.language_code}) " if turn.language_code else ""
            side = f"{self.sides.get(turn.side, turn.side)}: " if self.sides else ""
            who = f"{turn.speaker}: " if turn.speaker else ""
            self.out.write(f"[{stamp}] {side}{heard}{who}{turn.text}\n")
            if echo:
                heard_first = self._turns.get(turn.echo_of or 0)
                when = f"[{clock(heard_first.start_ms, sep='')}]" if heard_first is not None else "a turn"
                self.out.write(f"      (an echo of {when}: the microphone heard the speakers; not translated again)\n")
            for lang in () if echo else self.targets:
                tr = turn.translations[lang]
                if self.sides and tr.model == ORIGINAL_MODEL:
                    continue  # two-way: the turn's own language is its text
                text = tr.text if tr.status is TranslationStatus.DONE else f"(not translated: {tr.error})"
                self.out.write(f"      {lang}: {text}\n")
            self._next_to_print += 1

    def gap_added(self, gap: Gap) -> None:
        with self._lock:
            if self.jsonl:
                self._emit("gap", start_ms=gap.start_ms, end_ms=gap.end_ms, reason=gap.reason)
            else:
                self._clear_interim()
                a, b = clock(gap.start_ms, sep=""), clock(gap.end_ms, sep="")
                self.out.write(f"[{a}–{b}] no transcript ({gap.reason}), audio kept\n")

    def level_changed(self, dbfs: float) -> None:
        pass

    def error_occurred(self, error: AppError) -> None:
        with self._lock:
            self.errors.append(error)
            if self.jsonl:
                self._emit("error", message=error.message, fatal=error.fatal, kind=type(error).__name__)
            else:
                self._clear_interim()
                self.err.write(("error: " if error.fatal else "warning: ") + error.message + "\n")

    def rate_limit_changed(self, waiting: int, resume_in_s: float) -> None:
        with self._lock:
            if self.jsonl:
                self._emit("rate_limit", waiting=waiting, resume_in_s=round(resume_in_s, 1))
                return
            now = time.monotonic()
            if not waiting or now - self._rate_limit_said_at < FINISHING_REPEAT_S:
                return  # said when it starts binding (again), at most every few seconds
            self._rate_limit_said_at = now
            self._clear_interim()
            self.err.write(f"[{rate_limit_text(waiting, resume_in_s)}]\n")

    def session_ended(self, summary: SessionSummary) -> None:
        with self._lock:
            if self.jsonl:
                self._emit("session_ended", folder=str(summary.folder), audio=str(summary.audio_path),
                           audio_seconds=round(summary.audio_seconds, 3), turns=summary.turns,
                           translations_done=summary.translations_done,
                           translations_failed=summary.translations_failed, reconnects=summary.reconnects,
                           gaps=len(summary.gaps), transcribed=summary.transcribed, quit=summary.quit,
                           discarded=summary.discarded,
                           error=summary.error.message if summary.error else None)
            else:
                self._clear_interim()
                self.err.write(summary_line(summary) + "\n")


def list_devices(out: OutputStream) -> int:
    """``--list-devices``: the microphones, then what the computer plays (system audio)."""
    from app.audio.portaudio import PORTAUDIO, no_system_audio_message
    from app.core.devices import SYSTEM_AUDIO, SYSTEM_DEFAULT, DeviceKind, InputDevice

    devices = PORTAUDIO.devices()
    microphones = [d for d in devices if d.kind is DeviceKind.MICROPHONE]
    monitors = [d for d in devices if d.kind is DeviceKind.MONITOR]

    def line(d: InputDevice) -> str:  # the sound server's own (no number), or PortAudio's (number, format)
        return (f"  {d.name}\n" if d.server_name else
                f"  {d.name}  (number {d.index}; {d.max_input_channels} ch, {d.default_sample_rate} Hz)\n")

    if not microphones and not monitors and not any(d.kind is DeviceKind.SYSTEM for d in devices):
        out.write("No input devices found. Connect a microphone, or use --input FILE.wav.\n"
                  f"System audio: none. {no_system_audio_message()}\n")
        return 4
    now = next((d.name for d in devices if d.is_default and d.kind is DeviceKind.MICROPHONE), "")
    out.write("Microphones (--device takes the name, or a part of it):\n")
    out.write(f"  {SYSTEM_DEFAULT}{f' (now {now})' if now else ''}\n")
    for d in microphones:
        out.write(line(d))
    out.write("System audio: what the computer plays (--system-audio records the default output; "
              "--device takes one of these):\n")
    if not monitors:
        out.write(f"  none. {no_system_audio_message()}\n")
        return 0
    playing = next((d.name for d in monitors if d.is_default), monitors[0].name)
    out.write(f"  {SYSTEM_AUDIO} (now {playing})\n")
    for d in monitors:
        out.write(line(d))
    return 0
