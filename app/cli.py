"""Command line: option parsing for both modes, and the headless session in the terminal.

Composition root for ``--headless`` (plain threads run the same Qt-free loops as the window).
The main thread only waits and prints; the capture, websocket and translation threads call the
``TerminalListener``, which prints under a lock. Ctrl+C stops gracefully (the last turn is still
received and translated); a second Ctrl+C leaves at once (the WAV header is fixed on the next
start by crash recovery).
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from platformdirs import user_data_dir, user_log_dir

from app import __version__
from app.core.catalog import (
    DEFAULT_LLM_MODEL,
    DEFAULT_SPEECH_MODEL,
    MODES,
    REGION_IDS,
    SPEECH_MODEL_IDS,
    SPEECH_MODELS,
    TURN_PRESETS,
    model_for_language,
    models_hearing,
)
from app.core.errors import AppError, ConfigError
from app.core.languages import LANGUAGES
from app.core.settings import Paths, Settings
from app.core.timefmt import clock
from app.core.transcript import Gap, Translation, TranslationStatus, Turn
from app.core.validate import validate
from app.pipeline.events import SessionState, SessionSummary

EXIT_CODES = """exit codes:
  0  the session ended normally (also after Ctrl+C)
  1  unexpected error (see the log file)
  2  bad option or setting (no API key, unknown language, bad URL ...)
  3  the --input file cannot be used (missing, empty, not WAV, compressed)
  4  microphone problem (no microphone, unknown device, device unplugged)
  5  the sessions folder cannot be written, or the disk is full
  6  the API key was rejected (HTTP 401, or a 1008 close twice in a row)
  7  the streaming service could not be reached or ended the session
 130 interrupted twice (Ctrl+C Ctrl+C): left without waiting for the last turn
"""


def app_paths(sessions_dir: Path | None = None) -> Paths:
    data = Path(user_data_dir("live-translate", appauthor=False))
    return Paths(data_dir=data, sessions_dir=sessions_dir or data / "sessions",
                 log_dir=Path(user_log_dir("live-translate", appauthor=False)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="live-translate",
        description="Live transcription and translation with AssemblyAI. Without --headless it opens the window; "
                    "the options below also preset the window. The API key comes from ASSEMBLYAI_API_KEY or the "
                    "key saved in Settings (OS keyring); it is never accepted on the command line.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--headless", action="store_true", help="run a session in the terminal, without the window")
    p.add_argument("--input", metavar="FILE.wav", type=Path,
                   help="transcribe a WAV recording instead of the microphone")
    p.add_argument("--device", metavar="NAME|INDEX", help="input device by name (or part of it) or index")
    p.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    p.add_argument("--list-languages", action="store_true",
                   help="list the languages (targets, and which model hears each spoken one) and exit")
    p.add_argument("--list-models", action="store_true",
                   help="list the speech models with the languages each hears and exit")
    p.add_argument("--to", metavar="LANG", action="append",
                   help="target language (repeatable; name or ISO code), default es")
    p.add_argument("--from", dest="source", metavar="LANG",
                   help="spoken language; picks the speech model that hears it (live words first)")
    p.add_argument("--speech-model", choices=SPEECH_MODEL_IDS, metavar="ID",
                   help="AssemblyAI streaming model: " + "; ".join(f"{m.id} ({m.label})" for m in SPEECH_MODELS)
                   + f". Default {DEFAULT_SPEECH_MODEL}; --list-models lists every language each hears")
    p.add_argument("--mode", choices=MODES,
                   help="universal-3-5-pro only: min_latency (text sooner), balanced (the service's default) "
                        "or max_accuracy")
    p.add_argument("--out", metavar="DIR", type=Path, help="sessions folder (default: under the user's data dir)")
    p.add_argument("--jsonl", action="store_true", help="headless: one JSON object per event on stdout")
    p.add_argument("--region", choices=REGION_IDS, help="AssemblyAI region for both services")
    p.add_argument("--streaming-url", metavar="URL", help="streaming endpoint (e.g. a local server)")
    p.add_argument("--llm-url", metavar="URL", help="LLM Gateway base URL, up to /v1")
    p.add_argument("--llm-model", metavar="ID", help=f"LLM Gateway model id (default {DEFAULT_LLM_MODEL})")
    p.add_argument("--format-turns", action=argparse.BooleanOptionalAction, default=None,
                   help="punctuated, cased finals (default on)")
    p.add_argument("--turn-detection", choices=tuple(TURN_PRESETS), help="end-of-turn preset")
    p.add_argument("--keyterm", action="append", metavar="TERM", help="word or phrase to boost (repeatable)")
    p.add_argument("--no-realtime", action="store_true", help=argparse.SUPPRESS)  # for local tests only
    return p


def settings_from_args(args: argparse.Namespace, base: Settings) -> Settings:
    """Apply the options that were given on top of ``base`` (saved settings or defaults)."""
    changes: dict[str, Any] = {}
    if args.to:
        changes["targets"] = tuple(args.to)
    if args.source:
        changes["source"] = args.source
    if args.speech_model:
        changes["speech_model"] = args.speech_model
    if args.device is not None:
        changes["device"] = args.device
    for name in ("region", "streaming_url", "llm_url", "llm_model", "format_turns"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.turn_detection:
        changes["turn_preset"] = args.turn_detection
    if args.mode:
        changes["mode"] = args.mode
    if args.keyterm:
        changes["keyterms"] = tuple(args.keyterm)
    if args.out is not None:
        changes["sessions_dir"] = args.out.expanduser()
    # The same rules as the window's: names become codes, and a spoken language without a model
    # picks the model that hears it (an explicit model that cannot hear it is refused).
    return validate(replace(base, **changes), explicit_model=args.speech_model is not None).settings


# --- the headless session ---------------------------------------------------------------------


class TerminalListener:
    """Prints the session. Called from several threads; everything goes through one lock."""

    def __init__(self, targets: Sequence[str], *, jsonl: bool, out: TextIO, err: TextIO) -> None:
        self.targets = list(targets)
        self.jsonl = jsonl
        self.out = out
        self.err = err
        self.tty = out.isatty() and not jsonl
        self._lock = threading.Lock()
        self._turns: dict[int, Turn] = {}
        self._next_to_print = 0
        self._interim_shown = False
        self.errors: list[AppError] = []

    def _emit(self, event: str, **fields: Any) -> None:
        self.out.write(json.dumps({"event": event, "time": round(time.time(), 3), **fields}, ensure_ascii=False) + "\n")
        self.out.flush()

    def _clear_interim(self) -> None:
        if self._interim_shown:
            self.out.write("\r\033[K")
            self._interim_shown = False

    def state_changed(self, state: SessionState, detail: str) -> None:
        with self._lock:
            if self.jsonl:
                self._emit("state", state=state.value, detail=detail)
            elif state in (SessionState.CONNECTING, SessionState.RECONNECTING, SessionState.LIVE,
                           SessionState.FINISHING):
                self._clear_interim()
                self.err.write(f"[{detail or state.value}]\n")
                self.err.flush()

    def interim_changed(self, text: str) -> None:
        with self._lock:
            if self.jsonl:
                self._emit("interim", text=text)
            elif self.tty:
                width = max(20, shutil.get_terminal_size().columns - 1)
                shown = text if len(text) <= width else "…" + text[-(width - 1):]
                self.out.write("\r\033[K" + shown)
                self.out.flush()
                self._interim_shown = bool(text)

    def turn_finalized(self, turn: Turn) -> None:
        with self._lock:
            self._turns[turn.index] = turn
            if self.jsonl:
                self._emit("turn", turn=turn.index, segment=turn.segment, turn_order=turn.turn_order, text=turn.text,
                           start_ms=turn.start_ms, end_ms=turn.end_ms, language=turn.language_code)
            self._print_ready()

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
            settled = all(
                (tr := turn.translations.get(lang)) is not None and tr.status is not TranslationStatus.PENDING
                for lang in self.targets
            )
            if not settled:
                return
            self._clear_interim()
            stamp = clock(turn.start_ms, sep="")
            self.out.write(f"[{stamp}] {turn.text}\n")
            for lang in self.targets:
                tr = turn.translations[lang]
                text = tr.text if tr.status is TranslationStatus.DONE else f"(not translated: {tr.error})"
                self.out.write(f"      {lang}: {text}\n")
            self.out.flush()
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
                self.err.flush()

    def session_ended(self, summary: SessionSummary) -> None:
        with self._lock:
            if self.jsonl:
                self._emit("session_ended", folder=str(summary.folder), audio=str(summary.audio_path),
                           audio_seconds=round(summary.audio_seconds, 3), turns=summary.turns,
                           translations_done=summary.translations_done,
                           translations_failed=summary.translations_failed, reconnects=summary.reconnects,
                           gaps=len(summary.gaps), error=summary.error.message if summary.error else None)
            else:
                self._clear_interim()
                self.err.write(f"Session saved in {summary.folder} ({summary.audio_seconds:.1f} s of audio, "
                               f"{summary.turns} turns, {summary.translations_failed} translations failed).\n")
                self.err.flush()


def list_devices(out: TextIO) -> int:
    from app.audio.microphone import list_input_devices

    devices = list_input_devices()
    if not devices:
        out.write("No input devices found. Connect a microphone, or use --input FILE.wav.\n")
        return 4
    for d in devices:
        out.write(f"{d.index:3d}  {d.name}{'  (default)' if d.is_default else ''}  "
                  f"[{d.max_input_channels} ch, {d.default_sample_rate} Hz]\n")
    return 0


def list_languages(out: TextIO) -> None:
    """Every language: a target for translation; as a spoken language, the model --from picks."""
    out.write("Any of these can be a target (--to). "
              "As the spoken language (--from), the model in brackets hears it.\n")
    for lang in LANGUAGES:
        heard = models_hearing(lang.code)
        spoken = f"[--from: {model_for_language(lang.code)}]" if heard else "[not heard by any model]"
        out.write(f"{lang.code:6s} {lang.label():40s} {spoken}\n")


def list_models(out: TextIO) -> None:
    for model in SPEECH_MODELS:
        default = "  (default)" if model.id == DEFAULT_SPEECH_MODEL else ""
        options = (("turn detection", model.turn_threshold or model.turn_silences), ("key terms", model.keyterms),
                   ("language detection", model.language_detection), ("--mode", model.modes))
        honours = [name for name, on in options if on]
        out.write(f"{model.id}{default}\n  {model.label}\n  uses: {', '.join(honours) or 'none of the options'}\n"
                  f"  hears: {model.heard_names()}\n")


def run_headless(args: argparse.Namespace, settings: Settings, paths: Paths, api_key: str | None,
                 out: TextIO | None = None, err: TextIO | None = None) -> int:
    from app.pipeline.factory import SessionRequest, build_session
    from app.pipeline.recovery import recover_unfinished
    from app.store.db import SessionStore

    out = out or sys.stdout
    err = err or sys.stderr
    if not api_key:
        raise ConfigError("No AssemblyAI API key. Set ASSEMBLYAI_API_KEY (export ASSEMBLYAI_API_KEY=...) "
                          "or save one in the window's Settings (Ctrl+,).")
    store = SessionStore(paths.db_path)
    try:
        if store.notice:
            err.write(f"warning: {store.notice}\n")
        for rec in recover_unfinished(store):
            err.write(f"Recovered an unfinished session ({rec.turns} turns, {rec.audio_seconds:.1f} s of audio) "
                      f"in {rec.folder}{': ' + rec.problem if rec.problem else ''}\n")
        for note in validate(settings).unused:
            err.write(f"note: {note}\n")
        listener = TerminalListener(settings.targets, jsonl=args.jsonl, out=out, err=err)
        request = SessionRequest(settings=settings, api_key=api_key, sessions_dir=paths.sessions_dir,
                                 input_file=args.input, realtime=not args.no_realtime)
        session = build_session(request, listener, store=store)
        folder = session.prepare()
        if args.jsonl:
            listener._emit("session_started", folder=str(folder), targets=list(settings.targets),
                           speech_model=settings.speech_model, input=str(args.input) if args.input else "microphone")
        else:
            err.write(f"Recording {'from ' + str(args.input) if args.input else 'from the microphone'} into {folder}. "
                      "Press Ctrl+C to stop.\n")
        interrupts = 0

        def on_sigint(signum: int, frame: object) -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts == 1:
                err.write("\nStopping: waiting for the last turn and its translations (Ctrl+C again to quit now)…\n")
                session.stop()
            else:
                raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            session.start_threads()
            while not session.ended.wait(0.2):
                pass
        except KeyboardInterrupt:
            return 130
        finally:
            signal.signal(signal.SIGINT, previous)
        summary = session.summary
        assert summary is not None
        return summary.error.exit_code if summary.error else 0
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.list_languages:
            list_languages(sys.stdout)
            return 0
        if args.list_models:
            list_models(sys.stdout)
            return 0
        if args.list_devices:
            return list_devices(sys.stdout)
        settings = settings_from_args(args, Settings())
        paths = app_paths(settings.sessions_dir)
        if not args.headless:
            if args.jsonl or args.input:
                raise ConfigError("--jsonl and --input work with --headless only.")
            from app.gui import run_window  # Qt is only imported for the window

            defaults = Settings()
            overrides = {k: v for k, v in vars(settings).items() if getattr(defaults, k) != v}
            return run_window(overrides, paths=paths)
        from app.logsetup import redactor, setup_logging
        from app.settings.keystore import KeyStore

        # Library chatter (websocket, HTTP) goes to the log file only; our own messages are printed.
        setup_logging(paths.log_dir, console_level=None)
        key = KeyStore().load().key
        redactor.add(key)
        return run_headless(args, settings, paths, key)
    except AppError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return exc.exit_code
