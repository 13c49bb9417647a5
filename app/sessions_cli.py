"""``live-translate sessions …``: the session history from the terminal, for people and scripts.

Composition root (like ``app.cli``, which hands over here when the first argument is
``sessions``): parses the command, opens the archive, and asks ``app.pipeline.archive`` (and its
jobs ``retranslate`` and ``gap_filling``) to do the work; nothing here decides what is allowed, so
the terminal and the window refuse the same things in the same words. Main thread only; a job
(translate, transcribe) runs on it too, and Ctrl+C asks it to stop, keeping what was done.

Every command takes ``--json`` (one JSON document on stdout; an error is ``{"error": {...}}``)
and says everything else on stderr. IDs are the short IDs ``list`` shows (or a session's uid, or
``last`` for the newest session).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from app.core.catalog import REGION_IDS, heard_language
from app.core.errors import AppError, ConfigError, TranslationError
from app.core.exports import FORMATS, Content
from app.core.languages import language_name
from app.core.settings import Paths, Settings
from app.core.timefmt import clock, time_label
from app.core.transcript import Turn
from app.core.wording import counted
from app.pipeline.archive import Archive, ArchivedSession, Imported, ListedSession, UnknownSession
from app.pipeline.jobs import JobProgress

EXIT_NOT_REACHED = 9
EXIT_INTERRUPTED = 130
EXIT_CODES = f"""exit codes:
  0  done
  1  unexpected error (see the log file)
  2  bad option: an unknown language or translation, a model the region does not serve, no API key ...
  3  the file or folder to import cannot be used
  5  a file cannot be written (an export, a bundle), or the disk is full
  6  the API key was rejected
  7  the streaming service ended the transcription with an error
  {TranslationError.exit_code}  translate: some cells could not be translated (retry them: translate ID --retry)
  {EXIT_NOT_REACHED}  transcribe: the streaming service could not be reached (the gaps are kept)
 10  there is no session with that ID
 11  the archive is locked by another program (the message names it)
 12  the archive was written by a newer Live Translate (it is left as it is)
 {EXIT_INTERRUPTED} stopped with Ctrl+C: what was done is kept
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="one JSON document on stdout")
    common.add_argument("--out", metavar="DIR", help="the sessions folder (default: under the user's data dir)")
    services = argparse.ArgumentParser(add_help=False)
    services.add_argument("--region", choices=REGION_IDS, help="AssemblyAI region for both services")
    services.add_argument("--streaming-url", metavar="URL", help="another streaming endpoint")
    services.add_argument("--llm-url", metavar="URL", help="another LLM Gateway URL")
    p = argparse.ArgumentParser(
        prog="live-translate sessions", epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The sessions kept in the history: list, search, show, export, translate again, transcribe "
                    "the gaps, import, bundle, rename, note, delete. ID is a short ID from `list` (or `last`).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, *parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common, *parents])

    listing = command("list", "the sessions, newest first")
    listing.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    listing.add_argument("--offset", type=int, default=0, help="skip the newest N")
    command("show", "one session: its facts, translation sets, gaps and transcript").add_argument("id", metavar="ID")
    search = command("search", "turns whose original or any translation holds every word of TEXT, newest first")
    search.add_argument("text", metavar="TEXT", nargs="+")
    search.add_argument("--limit", type=int, default=20, help="how many hits (default 20)")
    export = command("export", "write a session as txt, srt, vtt, json or md (to stdout without -o)")
    export.add_argument("id", metavar="ID")
    export.add_argument("--format", choices=FORMATS, help="default: the extension of -o, else txt")
    export.add_argument("--content", choices=[c.value for c in Content], default=Content.BILINGUAL.value,
                        help="original, one translation, or both (default bilingual)")
    export.add_argument("--to", metavar="LANG", action="append",
                        help="translation columns to include (es, es.2 ...; repeatable or comma-separated); "
                             "default all")
    export.add_argument("--no-times", action="store_true", help="leave the times out")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--audio", metavar="FILE.wav", help="also copy the recording here")
    translate = command("translate", "translate a session again (a new column), or retry what was not translated",
                        services)
    translate.add_argument("id", metavar="ID")
    translate.add_argument("--to", metavar="LANG", help="the language (a code or a name); with --retry, a column")
    translate.add_argument("--llm-model", metavar="M", help="the LLM Gateway model (default: the app's)")
    translate.add_argument("--instructions", metavar="TEXT", default="", help='e.g. "Use a formal register."')
    translate.add_argument("--retry", action="store_true", help="retry the cells not translated, in their own sets")
    transcribe = command("transcribe", "transcribe the gaps of a session (recorded while offline, or a dropped "
                                       "connection); streams at real time", services)
    transcribe.add_argument("id", metavar="ID")
    transcribe.add_argument("--no-realtime", action="store_true", help=argparse.SUPPRESS)  # local tests only
    transcribe.add_argument("--connect-wait", type=float, default=None, help=argparse.SUPPRESS)  # local tests only
    command("import", "a bundle (.zip), a session folder, or a folder of session folders").add_argument(
        "path", metavar="PATH")
    bundle = command("bundle", "one zip with the session's recording and transcript.json, to share it")
    bundle.add_argument("id", metavar="ID")
    bundle.add_argument("-o", "--output", metavar="FILE.zip", required=True)
    rename = command("rename", "give the session a title (shown everywhere)")
    rename.add_argument("id", metavar="ID")
    rename.add_argument("title", metavar="TITLE", nargs="+")
    note = command("note", "keep a note with the session (an empty TEXT removes it)")
    note.add_argument("id", metavar="ID")
    note.add_argument("text", metavar="TEXT", nargs="*")
    delete = command("delete", "delete a session: its recording and transcript files too")
    delete.add_argument("id", metavar="ID")
    delete.add_argument("--yes", action="store_true", help="do not ask (needed when not at a terminal)")
    delete.add_argument("--keep-files", action="store_true", help="only take it out of the history")
    return p


class Terminal:
    """stdout for results, stderr for people; JSON when asked."""

    def __init__(self, as_json: bool, out: TextIO, err: TextIO) -> None:
        self.as_json = as_json
        self.out = out
        self.err = err
        self.tty = _isatty(out)

    def result(self, data: object, text: str | Callable[[], str]) -> None:
        if self.as_json:
            self.out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        else:
            shown = text() if callable(text) else text
            if shown:
                self.out.write(shown if shown.endswith("\n") else shown + "\n")

    def say(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def progress(self, p: JobProgress) -> None:
        if self.as_json or not _isatty(self.err):
            return
        self.err.write(f"\r\033[K{p.text}")
        self.err.flush()

    def end_progress(self) -> None:
        if not self.as_json and _isatty(self.err):
            self.err.write("\r\033[K")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def main(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    from app.cli import app_paths
    from app.logsetup import setup_logging

    args = build_parser().parse_args(list(argv))
    term = Terminal(args.json, out or sys.stdout, err or sys.stderr)
    try:
        if args.out is not None and not str(args.out).strip():
            raise ConfigError('--out needs a folder: "" is not one.')
        paths = app_paths(Path(args.out).expanduser() if args.out else None)
        setup_logging(paths.log_dir, console_level=None)
        return _with_archive(args, paths, term)
    except AppError as exc:
        if args.json:
            term.result({"error": {"message": exc.message, "exit_code": exc.exit_code, "kind": type(exc).__name__}},
                        "")
        term.say(f"error: {exc.message}")
        return exc.exit_code


def _with_archive(args: argparse.Namespace, paths: Paths, term: Terminal) -> int:
    from app.store.db import SessionStore

    with SessionStore(paths.db_path) as store:
        if store.notice:
            term.say(f"warning: {store.notice}")
        archive = Archive(store)
        if archive.rebuild_pending():
            term.say(archive.rebuild(paths.sessions_dir).describe())
        return COMMANDS[args.command](args, archive, paths, term)


def _ref(archive: Archive, ref: str) -> int:
    if ref.strip().lower() == "last":
        newest = archive.sessions(limit=1)
        if not newest:
            raise UnknownSession("The archive has no sessions yet.")
        return newest[0].id
    return archive.resolve(ref)


# --- the commands -------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    rows = archive.overview(limit=max(1, args.limit), offset=max(0, args.offset))
    term.result([_listed_json(r) for r in rows], lambda: _list_text(rows, archive.count()))
    return 0


def _listed_json(row: ListedSession) -> dict[str, Any]:
    r = row.record
    return {"id": r.short_id, "title": row.title, "started": _iso(r.started_at), "duration_ms": r.duration_ms,
            "status": r.status.value, "source_language": r.source_language, "speech_model": r.speech_model,
            "llm_model": r.llm_model, "translations": [s.label for s in row.overview.sets] or list(r.target_languages),
            "turns": row.overview.turns, "gaps": row.overview.gaps, "first_words": row.overview.first_words,
            "folder": str(r.folder), "audio": str(r.audio_path), "audio_there": row.audio_there, "note": r.user_note}


def _list_text(rows: list[ListedSession], total: int) -> str:
    if not rows:
        return "No sessions yet. Record one (live-translate), or import one: live-translate sessions import PATH"
    lines = [f"{'ID':<8} {'STARTED':<16} {'LENGTH':>7}  {'LANGUAGES':<16} TITLE — FIRST WORDS"]
    for row in rows:
        r = row.record
        labels = [s.label for s in row.overview.sets] or list(r.target_languages)
        langs = f"{heard_language(r.source_language, r.speech_model) or 'auto'} → {', '.join(labels) or '—'}"
        gaps = row.overview.gaps
        marks = [m for m, on in (("recording", r.status.value == "recording"),
                                 ("recording missing", not row.audio_there),
                                 (f"{gaps} gap{'s' if gaps != 1 else ''}", gaps > 0)) if on]
        words = row.overview.first_words
        words = f" — “{words[:50]}{'…' if len(words) > 50 else ''}”" if words else ""
        extra = f" ({', '.join(marks)})" if marks else ""
        lines.append(f"{r.short_id:<8} {_local(r.started_at):<16} {time_label(r.duration_ms or 0):>7}  "
                     f"{langs:<16} {row.title}{words}{extra}")
    if total > len(rows):
        lines.append(f"({len(rows)} of {total}; --limit and --offset show more)")
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    session = archive.load(_ref(archive, args.id))
    doc = json.loads(archive.render(session.record.id, "json"))
    doc["session"].update(folder=str(session.record.folder), audio_there=session.audio_there,
                          status=session.record.status.value, app_note=session.record.note)
    term.result(doc, lambda: _show_text(archive, session))
    return 0


def _show_text(archive: Archive, session: ArchivedSession) -> str:
    r = session.record
    turns = session.transcript.turns()
    heard = heard_language(r.source_language, r.speech_model)
    spoken = language_name(heard) if heard else "language detected"
    count = counted(len(turns), "turn")
    facts = (f"{_local(r.started_at, seconds=True)} · {time_label(r.duration_ms or 0)} · {count} · "
             f"{r.speech_model or 'unknown model'} · {spoken}")
    missing = "" if session.audio_there else f"  (the recording {r.audio_path.name} is missing; the transcript is kept)"
    lines = [f"{session.title}  [{r.short_id}]", f"Started    {facts}", f"Folder     {r.folder}{missing}"]
    if r.user_note:
        lines.append(f"Note       {r.user_note}")
    if r.note:
        lines.append(f"           {r.note}")
    names = session.column_names()
    for label in session.columns:
        kept = session.set_for(label)
        cells = [e.translations.get(label) for e in session.entries_with([label]) if isinstance(e, Turn)]
        done = sum(1 for c in cells if c is not None and c.status.value == "done")
        made = f", {_local(kept.created_at)}" if kept is not None and not kept.own else ""
        state = f", {kept.state.value}" if kept is not None and kept.state.value != "done" else ""
        model = f", {kept.model}" if kept is not None and kept.model else ""
        wish = f", “{kept.instructions}”" if kept is not None and kept.instructions else ""
        lines.append(f"{'Translated' if label == session.columns[0] else '':<10} {label:<6} {names[label]}{model}"
                     f"{made}{state}{wish}: {done} of {counted(len(turns), 'turn')}")
    gaps = session.transcript.gaps()
    if gaps:
        lines.append(f"Gaps       {len(gaps)} without transcript ("
                     + ", ".join(f"{time_label(g.start_ms)}–{time_label(g.end_ms)}" for g in gaps[:5])
                     + (" …" if len(gaps) > 5 else "") + f"); live-translate sessions transcribe {r.short_id}")
    return "\n".join(lines) + "\n\n" + archive.render(r.id, "txt")


def cmd_search(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    text = " ".join(args.text)
    mark = ("\033[1m", "\033[0m") if term.tty and not term.as_json else ("[", "]")
    found = archive.find(text, limit=max(1, args.limit), mark=mark)
    data = [{"id": f.record.short_id, "title": f.record.title or f.record.folder.name, "turn": f.hit.turn_index,
             "start_ms": f.hit.start_ms, "column": f.hit.column, "snippet": f.hit.snippet} for f in found]

    def text_out() -> str:
        if not found:
            return f"Nothing found for “{text}”."
        return "\n".join(f"{f.record.short_id:<8} {clock(f.hit.start_ms, sep=''):<9} {f.hit.column or 'orig':<6} "
                         f"{f.hit.snippet}   ({f.record.title or f.record.folder.name})" for f in found)

    term.result(data, text_out)
    return 0


def cmd_export(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    session_id = _ref(archive, args.id)
    columns = [part.strip() for value in args.to or [] for part in value.split(",") if part.strip()] or None
    content, timestamps = Content(args.content), not args.no_times
    if args.output is None:
        if args.audio:
            raise ConfigError("--audio copies the recording next to an export: give -o FILE as well.")
        fmt = args.format or "txt"
        text = archive.render(session_id, fmt, content=content, languages=columns, timestamps=timestamps)
        term.result({"format": fmt, "text": text}, text)
        return 0
    target = Path(args.output).expanduser()
    fmt = args.format or (target.suffix.lstrip(".").lower() if target.suffix else "txt")
    written = archive.export(session_id, target, fmt=fmt, content=content, languages=columns, timestamps=timestamps,
                             audio_to=Path(args.audio).expanduser() if args.audio else None)
    term.result({"written": [str(p) for p in written]}, "\n".join(f"Wrote {p}" for p in written))
    return 0


def _service_settings(args: argparse.Namespace) -> Settings:
    from app.core.validate import validate

    changes = {name: getattr(args, name) for name in ("region", "streaming_url", "llm_url")
               if getattr(args, name, None) is not None}
    if getattr(args, "llm_model", None):
        changes["llm_model"] = args.llm_model
    return validate(Settings().with_changes(**changes)).settings


def _secrets(settings: Settings) -> dict[str, str]:
    from app.cli import needed_secrets
    from app.core.backends import secret
    from app.settings.keystore import KeyStore

    keys = KeyStore().keys(needed_secrets(settings))
    for service in needed_secrets(settings):
        if not keys.get(service):
            needed = secret(service)
            raise ConfigError(f"No {needed.label}. Set {needed.env_var} (export {needed.env_var}=...) or save one "
                              "in the window's Settings (Ctrl+,).")
    return keys


class _Interrupt:
    """Ctrl+C (or SIGTERM) asks the running job to stop; what it did is kept."""

    def __init__(self, term: Terminal) -> None:
        self.cancel = threading.Event()
        self._term = term
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupt:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._received)
        return self

    def _received(self, signum: int, frame: object) -> None:
        if not self.cancel.is_set():
            self._term.say("\nStopping: what is done is kept…")
        self.cancel.set()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def cmd_translate(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    from app.pipeline.retranslate import Retranslation, TranslateAgain, translators_from

    session_id = _ref(archive, args.id)
    if not args.retry and not args.to:
        raise ConfigError("Say which language: sessions translate ID --to LANG (or --retry for the cells not "
                          "translated).")
    settings = _service_settings(args)
    with _Interrupt(term) as interrupt:
        job = Retranslation(archive, session_id, translators_from(settings, _secrets(settings)),
                            default_model=settings.llm_model, progress=term.progress, cancel=interrupt.cancel)
        if args.retry:
            result = job.retry(columns=[args.to] if args.to else None)
        else:
            result = job.translate(TranslateAgain(args.to, args.llm_model or "", args.instructions))
    term.end_progress()
    term.result({"columns": list(result.columns), "asked": result.asked, "translated": result.translated,
                 "failed": result.failed, "cancelled": result.cancelled}, result.describe())
    if result.cancelled:
        return EXIT_INTERRUPTED
    return TranslationError.exit_code if result.failed else 0


def cmd_transcribe(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    from app.pipeline.gap_filling import GapFilling

    session_id = _ref(archive, args.id)
    settings = _service_settings(args)
    with _Interrupt(term) as interrupt:
        job = GapFilling(archive, session_id, settings=settings, secrets=_secrets(settings), progress=term.progress,
                         cancel=interrupt.cancel, realtime=not args.no_realtime,
                         **({"connect_wait_s": args.connect_wait} if args.connect_wait is not None else {}))
        started = time.monotonic()
        result = job.run()
    term.end_progress()
    term.result({"gaps_before": result.gaps_before, "gaps_left": result.gaps_left, "turns_added": result.turns_added,
                 "reached": result.reached, "cancelled": result.cancelled,
                 "seconds": round(time.monotonic() - started, 1)}, result.describe())
    if result.cancelled:
        return EXIT_INTERRUPTED
    return 0 if result.reached else EXIT_NOT_REACHED


def cmd_import(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    found = archive.import_path(Path(args.path), into=paths.sessions_dir)
    term.result([_imported_json(i) for i in found], "\n".join(_imported_text(i) for i in found))
    return 0


def _imported_json(i: Imported) -> dict[str, Any]:
    return {"id": i.short_id, "title": i.title, "folder": str(i.folder), "turns": i.turns, "new": i.new,
            "note": i.note}


def _imported_text(i: Imported) -> str:
    how = "Imported" if i.new else "Already in the history, brought up to date:"
    note = f" Note: {i.note}." if i.note else ""
    return f"{how} {i.short_id} “{i.title}” ({counted(i.turns, 'turn')}) in {i.folder}.{note}"


def cmd_bundle(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    written, with_audio = archive.bundle(_ref(archive, args.id), Path(args.output))
    missing = "" if with_audio else " The recording is missing, so the bundle holds the transcript only."
    term.result({"written": str(written), "audio": with_audio}, f"Wrote {written}.{missing}")
    return 0


def cmd_rename(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    session_id = _ref(archive, args.id)
    archive.rename(session_id, " ".join(args.title))
    record = archive.record(session_id)
    term.result({"id": record.short_id, "title": record.title}, f"{record.short_id} is now “{record.title}”.")
    return 0


def cmd_note(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    session_id = _ref(archive, args.id)
    archive.set_note(session_id, " ".join(args.text))
    record = archive.record(session_id)
    term.result({"id": record.short_id, "note": record.user_note},
                f"Noted on {record.short_id}." if record.user_note else f"The note on {record.short_id} is removed.")
    return 0


def cmd_delete(args: argparse.Namespace, archive: Archive, paths: Paths, term: Terminal) -> int:
    session_id = _ref(archive, args.id)
    plan = archive.deletion_plan(session_id)
    record = archive.record(session_id)
    what = (f"“{plan.title}” leaves the history; its files in {plan.folder} stay." if args.keep_files
            else plan.describe())
    if not args.yes:
        if not _isatty(sys.stdin):
            raise ConfigError(f"Not deleted: {what} To delete it, run again with --yes.")
        term.say(what)
        term.err.write("Delete it? [y/N] ")
        term.err.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            term.say("Not deleted.")
            return 0
    removed = archive.delete(session_id, files=not args.keep_files)
    term.result({"id": record.short_id, "removed": [str(p) for p in removed]},
                f"Deleted {record.short_id} “{plan.title}”" + (f" and {counted(len(removed), 'item')} from the disk."
                                                              if removed else "."))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Archive, Paths, Terminal], int]] = {
    "list": cmd_list, "show": cmd_show, "search": cmd_search, "export": cmd_export, "translate": cmd_translate,
    "transcribe": cmd_transcribe, "import": cmd_import, "bundle": cmd_bundle, "rename": cmd_rename,
    "note": cmd_note, "delete": cmd_delete,
}


def _local(unix: float, *, seconds: bool = False) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(unix))


def _iso(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(unix))
