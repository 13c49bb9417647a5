"""Command line: option parsing for both modes, and the headless session in the terminal.

Composition root for ``--headless`` (plain threads run the same Qt-free loops as the window).
The main thread only waits and handles signals; the capture, websocket and translation threads
call the ``TerminalListener``, which prints under a lock. Ctrl+C, SIGTERM and SIGHUP all stop
gracefully (the last turn is still received and translated, at most ``SIGNAL_FINISH_S`` seconds);
a second signal quits within a second, open translations marked, exports written (exit 130).
Output streams that fail never stop a recording: a closed pipe on stdout (``| head``) ends the
session gracefully, a stream that cannot be written (``>/dev/full``, a terminal gone) is turned
off, and text the stream cannot encode is escaped.
"""
from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from platformdirs import user_data_dir, user_log_dir

from app import __version__
from app.core.backends import secret, speech_backend, translation_backend
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
from app.core.devices import SYSTEM_AUDIO, SYSTEM_DEFAULT, means_system_default
from app.core.errors import AppError, ConfigError
from app.core.languages import LANGUAGES
from app.core.settings import Paths, Settings
from app.core.validate import validate
from app.pipeline.events import SIGNAL_FINISH_S
from app.pipeline.two_way import COST_TEXT, SIDE_NAMES, plan_two_way
from app.terminal import OutputStream, TerminalListener, list_devices, summary_line  # noqa: F401 - re-exported
from app.terminal_captions import add_caption_options, start_caption_server

EXIT_NOT_TRANSCRIBED = 9
EXIT_QUIT = 130
EXIT_CODES = f"""exit codes:
  0  the session ended normally (also after Ctrl+C, SIGTERM or SIGHUP)
  1  unexpected error (see the log file)
  2  bad option or setting (no API key, unknown language, bad URL ...)
  3  the --input file cannot be used (missing, empty, not WAV, compressed)
  4  microphone or system-audio problem (none found, unknown device, device unplugged, no sound server)
  5  the sessions folder cannot be written, or the disk is full
  6  the API key was rejected (HTTP 401, or a 1008 close twice in a row)
  7  the streaming service ended the session with an error
  {EXIT_NOT_TRANSCRIBED}  recorded, but the streaming service could never be reached: nothing was transcribed
 {EXIT_QUIT} a second signal (Ctrl+C Ctrl+C): quit without waiting; open translations marked
"""


def app_paths(sessions_dir: Path | None = None) -> Paths:
    data = Path(user_data_dir("live-translate", appauthor=False))
    return Paths(data_dir=data, sessions_dir=sessions_dir or data / "sessions",
                 log_dir=Path(user_log_dir("live-translate", appauthor=False)))


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 3600")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="live-translate",
        description="Live transcription and translation with AssemblyAI. Without --headless it opens the window; "
                    "the options below also preset the window. The API key comes from ASSEMBLYAI_API_KEY or the "
                    "key saved in Settings or with 'live-translate key set' (OS keyring, or a file only you can "
                    "read); it is never accepted on the command line. 'live-translate key status' says where it "
                    "comes from. The sessions kept: live-translate sessions --help.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--headless", action="store_true", help="run a session in the terminal, without the window")
    p.add_argument("--input", metavar="FILE.wav", type=Path,
                   help="transcribe a WAV recording instead of the microphone")
    p.add_argument("--device", metavar="NAME|INDEX",
                   help="input device by name (or part of it) or index: a microphone, or a system-audio source "
                        "from --list-devices")
    p.add_argument("--system-audio", action="store_true",
                   help="record what the computer plays (the default output) instead of the microphone; "
                        "Linux: PulseAudio or PipeWire")
    p.add_argument("--two-way", action="store_true",
                   help="a conversation: the microphone (you, --from) and the system audio (the other side, "
                        "--other-language) at once, each translated into the other's language. Two streaming "
                        "sessions: it costs twice")
    p.add_argument("--other-language", metavar="LANG", help="--two-way: the language the other side speaks")
    p.add_argument("--other-device", metavar="NAME",
                   help="--two-way: the system-audio source the other side is heard from (default: what the "
                        "default output plays)")
    p.add_argument("--list-devices", action="store_true",
                   help="list the microphones and the system-audio sources and exit")
    p.add_argument("--list-languages", action="store_true",
                   help="list the languages (targets, and which model hears each spoken one) and exit")
    p.add_argument("--list-models", action="store_true",
                   help="list the speech models with the languages each hears and exit")
    p.add_argument("--to", metavar="LANG", action="append",
                   help="target language (repeatable, or a comma-separated list; name or ISO code), default es")
    p.add_argument("--from", dest="source", metavar="LANG",
                   help="spoken language; picks the speech model that hears it (live words first)")
    p.add_argument("--speech-model", choices=SPEECH_MODEL_IDS, metavar="ID",
                   help="AssemblyAI streaming model: " + "; ".join(f"{m.id} ({m.label})" for m in SPEECH_MODELS)
                   + f". Default {DEFAULT_SPEECH_MODEL}; --list-models lists every language each hears")
    p.add_argument("--mode", choices=MODES,
                   help="universal-3-5-pro only: min_latency (text sooner), balanced (the service's default) "
                        "or max_accuracy")
    p.add_argument("--out", metavar="DIR", help="sessions folder (default: under the user's data dir)")
    p.add_argument("--jsonl", action="store_true", help="headless: one JSON object per event on stdout")
    p.add_argument("--region", choices=REGION_IDS, help="AssemblyAI region for both services")
    p.add_argument("--streaming-url", metavar="URL", help="streaming endpoint (e.g. a local server)")
    p.add_argument("--llm-url", metavar="URL", help="LLM Gateway base URL, up to /v1")
    p.add_argument("--llm-model", metavar="ID", help=f"LLM Gateway model id (default {DEFAULT_LLM_MODEL})")
    p.add_argument("--format-turns", action=argparse.BooleanOptionalAction, default=None,
                   help="punctuated, cased finals (default on)")
    p.add_argument("--turn-detection", choices=tuple(TURN_PRESETS), help="end-of-turn preset")
    p.add_argument("--speakers", type=int, nargs="?", const=-1, metavar="N",
                   help="label who says each turn (A, B, ...); N, when given, is how many people speak (1-10). "
                        "English, multilingual and the Universal-3 models")
    p.add_argument("--keyterm", action="append", metavar="TERM", help="word or phrase to boost (repeatable)")
    p.add_argument("--stop-timeout", type=_positive_seconds, metavar="SECONDS", default=SIGNAL_FINISH_S,
                   help=f"after SIGTERM, SIGHUP or Ctrl+C, finish the last turn and its translations within this "
                        f"many seconds (default {SIGNAL_FINISH_S:g}); keep it below a service manager's kill timeout")
    p.add_argument("--smoke-test", action="store_true",
                   help="open the window, draw one frame and quit: exit 0 if everything loaded (checks an "
                        "installed build; works without a display with QT_QPA_PLATFORM=offscreen)")
    add_caption_options(p)
    p.add_argument("--no-realtime", action="store_true", help=argparse.SUPPRESS)  # for local tests only
    return p


def settings_from_args(args: argparse.Namespace, base: Settings) -> Settings:
    """Apply the options that were given on top of ``base`` (saved settings or defaults)."""
    changes: dict[str, Any] = {}
    if args.to:
        changes["targets"] = tuple(part.strip() for value in args.to for part in value.split(",") if part.strip())
    if args.source:
        changes["source"] = args.source
    if args.speech_model:
        changes["speech_model"] = args.speech_model
    if args.two_way:
        if args.system_audio:
            raise ConfigError("--two-way records the system audio anyway; leave out --system-audio (--other-device "
                              "chooses which output, --device the microphone).")
        changes.update(two_way=True, other_language=args.other_language, system_device=args.other_device)
        if not args.to:
            changes["targets"] = ()  # each side's target is the other side's language; --to adds more
    elif args.other_language or args.other_device:
        raise ConfigError("--other-language and --other-device belong to a two-way conversation: add --two-way.")
    if args.system_audio:
        if args.device is not None or args.input is not None:
            raise ConfigError("--system-audio records what the computer plays; leave out --device and --input "
                              "(or use --device with a name from --list-devices).")
        changes["device"] = SYSTEM_AUDIO
    elif args.device is not None:
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
    if args.speakers is not None:
        changes["speakers"] = True
        changes["max_speakers"] = None if args.speakers == -1 else args.speakers  # validate() checks 1-10
    if args.out is not None:
        if not str(args.out).strip():
            raise ConfigError('--out needs a folder: "" is not one. Leave --out out to use the default folder.')
        changes["sessions_dir"] = Path(args.out).expanduser()
    # The same rules as the window's: names become codes, and a spoken language without a model
    # picks the model that hears it (an explicit model that cannot hear it is refused).
    settings = replace(base, **changes)
    if settings.two_way:
        two = plan_two_way(settings)  # refuses the same language on both sides, or a missing one
        return replace(settings, source=two.you.language.code, other_language=two.them.language.code,
                       targets=tuple(t.code for t in two.targets[2:]))
    return validate(settings, explicit_model=args.speech_model is not None).settings


# --- the headless session ---------------------------------------------------------------------




def list_languages(out: OutputStream) -> None:
    """Every language: a target for translation; as a spoken language, the model --from picks."""
    out.write("Any of these can be a target (--to). "
              "As the spoken language (--from), the model in brackets hears it.\n")
    for lang in LANGUAGES:
        heard = models_hearing(lang.code)
        spoken = f"[--from: {model_for_language(lang.code)}]" if heard else "[not heard by any model]"
        out.write(f"{lang.code:6s} {lang.label():40s} {spoken}\n")


def list_models(out: OutputStream) -> None:
    for model in SPEECH_MODELS:
        default = "  (default)" if model.id == DEFAULT_SPEECH_MODEL else ""
        options = (("turn detection", model.turn_threshold or model.turn_silences), ("key terms", model.keyterms),
                   ("language detection", model.language_detection), ("--mode", model.modes))
        honours = [name for name, on in options if on]
        out.write(f"{model.id}{default}\n  {model.label}\n  uses: {', '.join(honours) or 'none of the options'}\n"
                  f"  hears: {model.heard_names()}\n")


def needed_secrets(settings: Settings) -> tuple[str, ...]:
    """The services whose keys a session with ``settings`` needs (once each, speech first)."""
    return tuple(dict.fromkeys((speech_backend(settings.speech_backend).secret,
                                translation_backend(settings.translation_backend).secret)))


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
QUIT_WAIT_S = 3.0  # after a second signal the session ends in well under a second; never hang here


def run_headless(args: argparse.Namespace, settings: Settings, paths: Paths, secrets: Mapping[str, str],
                 out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``secrets``: the API key of each service the settings use (``KeyStore.keys``)."""
    from app.pipeline.factory import SessionRequest, build_session
    from app.pipeline.recovery import describe, recover_unfinished
    from app.pipeline.session import LiveSession
    from app.store.db import SessionStore

    out = out or sys.stdout
    err = err or sys.stderr
    for service in needed_secrets(settings):
        if not secrets.get(service):
            needed = secret(service)
            raise ConfigError(f"No {needed.label}. Run live-translate key set (it reads the key from standard "
                              f"input), set {needed.env_var} (export {needed.env_var}=...), or save one in the "
                              "window's Settings (Ctrl+,).")
    session: LiveSession | None = None
    signals = 0

    deadline_s = float(args.stop_timeout)

    def stop_gracefully() -> None:
        if session is not None:
            session.stop(deadline_s=deadline_s)

    two = plan_two_way(settings) if settings.two_way else None
    targets = tuple(t.code for t in two.targets) if two is not None else settings.targets
    listener = TerminalListener(targets, jsonl=args.jsonl, out=out, err=err, on_output_closed=stop_gracefully,
                                sides=SIDE_NAMES if two is not None else None)

    def on_signal(signum: int, frame: object) -> None:
        # Runs on the main thread between two of its bytecodes (it only waits for the session).
        nonlocal signals
        signals += 1
        if session is None:
            raise SystemExit(EXIT_QUIT)  # nothing is being recorded yet
        if signals == 1:
            listener.say(f"\nStopping ({signal.Signals(signum).name}): waiting for the last turn and its "
                         f"translations, at most {deadline_s:g} s (Ctrl+C again to quit now)…")
            session.stop(deadline_s=deadline_s)
        elif signals == 2:
            listener.say("Quitting now: translations still open are marked not translated.")
            session.quit_now()

    captions = start_caption_server(args.share_captions, args.share_captions_lan, args.captions_port)
    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    store = SessionStore(paths.db_path)
    try:
        if store.notice:
            listener.say(f"warning: {store.notice}")
        for rec in recover_unfinished(store):
            listener.say(describe(rec))
        for note in store.set_aside:
            listener.say(f"warning: {note}")
        for plan in ((two.you.plan, two.them.plan) if two is not None else (validate(settings),)):
            for note in plan.unused:
                listener.say(f"note: {note}")
        request = SessionRequest(settings=settings, secrets=secrets, sessions_dir=paths.sessions_dir,
                                 input_file=args.input, realtime=not args.no_realtime)
        printer = captions.listener(listener, targets, None if two else settings.source) if captions else listener
        built = build_session(request, printer, store=store)
        folder = built.prepare()
        session = built
        heard = source_text(session.source, args.input)
        if two is not None and session.other is not None:
            heard = (f"{heard} ({two.you.name}, {two.you.language.name}) and "
                     f"{source_text(session.other.source, None)} ({two.them.name}, {two.them.language.name})")
        if args.jsonl:
            shared = {"captions_url": captions.server.url} if captions else {}
            listener._emit("session_started", folder=str(folder), targets=list(targets),
                           speech_model=session.config.speech_model, input=source_kind(session.source, args.input),
                           source=heard, **({"two_way": True, "streams": 2, "cost": COST_TEXT} if two else {}),
                           **shared)
        else:
            listener.say(f"Recording from {heard} into {folder}. Press Ctrl+C to stop.")
            if two is not None:
                listener.say(f"note: {COST_TEXT}")
        if captions:
            listener.say(captions.announcement())
            if captions.on_network and listener.err.tty:
                listener.say(captions.qr_code())  # for the phones: scan it off the terminal
        session.start_threads()
        while not session.ended.wait(0.2):
            if signals >= 2:
                session.ended.wait(QUIT_WAIT_S)
                break
        if signals >= 2:
            return EXIT_QUIT
        summary = session.summary
        assert summary is not None
        if summary.error is not None:
            return summary.error.exit_code
        return 0 if summary.transcribed or summary.discarded else EXIT_NOT_TRANSCRIBED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
        if captions:
            captions.stop()


def source_kind(source: object, input_file: Path | None) -> str:
    """The session_started event's ``input``: the file, "microphone" or "system_audio"."""
    if input_file is not None:
        return str(input_file)
    return "system_audio" if str(getattr(source, "description", "")).startswith("System audio") else "microphone"


def source_text(source: object, input_file: Path | None) -> str:
    """ "the microphone (Virtual Microphone)", "system audio (Built-in speakers — what you hear)"."""
    if input_file is not None:
        return str(input_file)
    kind, _, name = str(getattr(source, "description", "Microphone")).partition(": ")
    name = SYSTEM_DEFAULT if means_system_default(name) and name else name
    return f"{'system audio' if kind == 'System audio' else 'the microphone'}{f' ({name})' if name else ''}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["key"]:  # live-translate key set|status|remove (app/key_cli.py)
        from app.key_cli import main as key_main

        return key_main(argv[1:])
    if argv[:1] == ["sessions"]:  # the history's commands have a parser of their own
        from app.sessions_cli import main as sessions_main

        return sessions_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.list_languages:
            list_languages(OutputStream(sys.stdout))
            return 0
        if args.list_models:
            list_models(OutputStream(sys.stdout))
            return 0
        if args.list_devices:
            return list_devices(OutputStream(sys.stdout))
        if args.captions_port and not (args.share_captions or args.share_captions_lan):
            raise ConfigError("--captions-port needs --share-captions or --share-captions-lan.")
        settings = settings_from_args(args, Settings())
        paths = app_paths(settings.sessions_dir)
        if not args.headless:
            if args.jsonl or args.input:
                raise ConfigError("--jsonl and --input work with --headless only.")
            if args.share_captions or args.share_captions_lan or args.captions_port:
                raise ConfigError("--share-captions, --share-captions-lan and --captions-port work with --headless "
                                  "only; in the window, use Share ▸ Captions on this network.")
            from app.gui import run_window  # Qt is only imported for the window

            defaults = Settings()
            overrides = {k: v for k, v in vars(settings).items() if getattr(defaults, k) != v}
            return run_window(overrides, paths=paths, smoke_test=args.smoke_test)
        if args.smoke_test:
            raise ConfigError("--smoke-test checks the window; leave out --headless.")
        from app.logsetup import setup_logging
        from app.settings.keystore import KeyStore

        # Library chatter (websocket, HTTP) goes to the log file only; our own messages are printed.
        setup_logging(paths.log_dir, console_level=None)
        return run_headless(args, settings, paths, KeyStore().keys(needed_secrets(settings)))
    except AppError as exc:
        OutputStream(sys.stderr).write(f"error: {exc.message}\n")
        return exc.exit_code
