"""Transcript exports: TXT, SRT, VTT, JSON and Markdown, original-only, one translation, or bilingual.

Pure functions over a snapshot (``Transcript.entries()``); any thread. Gaps (stretches where the
connection was down) are exported too, so the text lines up with the WAV that kept the audio.

Subtitles stay watchable: a bilingual cue carries at most two languages, each line labelled with
its language (``[en] Good morning.`` / ``[es] Buenos días.``); a bilingual subtitle export with
several translations is one file per translation, each with the original (``export_files``).
SRT, VTT and JSON always carry the times (``ALWAYS_TIMED``).

Who said it (``app.core.who``) is in every format when the session has it (speakers, or turns from
the system's audio), under the session's names (``metadata["names"]``): TXT and SRT a "Name: "
before the text, VTT a voice span (``<v Name>…</v>``), Markdown a "Who" column, JSON each turn's
``who``, ``speaker_name`` and ``side_name`` beside ``speaker`` and ``side``. A session without
either carries nothing extra.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from app.core.catalog import SPEECH_MODEL_IDS, speech_model
from app.core.kept import label_name
from app.core.timefmt import clock
from app.core.transcript import Gap, TranslationStatus, Turn
from app.core.who import Names, Shown, names_of, who

Entry = Turn | Gap
FORMATS = ("txt", "srt", "vtt", "json", "md")
SUBTITLE_FORMATS = ("srt", "vtt")
ALWAYS_TIMED = ("srt", "vtt", "json")  # "Include times" does not apply: they always have them
UNTRANSLATED = "[not translated]"
GAP_TEXT = "[no transcript, audio kept]"


class Content(str, Enum):
    ORIGINAL = "original"
    TRANSLATION = "translation"
    BILINGUAL = "bilingual"


@dataclass(frozen=True)
class ExportOptions:
    content: Content = Content.BILINGUAL
    # Target codes, or translation-set labels ("es.2", app.core.kept); for TRANSLATION only the first is used
    languages: tuple[str, ...] = ()
    timestamps: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)  # session facts for JSON/Markdown headers

    def __post_init__(self) -> None:
        if self.content is Content.TRANSLATION and not self.languages:
            raise ValueError("a translation-only export needs a target language")


def translation_text(turn: Turn, language: str) -> str:
    tr = turn.translations.get(language)
    if tr is None or tr.status is not TranslationStatus.DONE:
        return UNTRANSLATED
    return tr.text


def _lines(entry: Entry, opts: ExportOptions) -> list[str]:
    """The text lines of one entry for the chosen content."""
    if isinstance(entry, Gap):
        return [GAP_TEXT]
    if opts.content is Content.ORIGINAL:
        return [entry.text]
    if opts.content is Content.TRANSLATION:
        return [translation_text(entry, opts.languages[0])]
    return [entry.text, *(translation_text(entry, lang) for lang in opts.languages)]


def _who(entries: Sequence[Entry], opts: ExportOptions) -> tuple[Names, Shown]:
    """The session's names and what its "Who" shows, from the entries exported."""
    return names_of(opts.metadata), Shown.of(e for e in entries if isinstance(e, Turn))


def _said(entry: Entry, names: Names, shown: Shown) -> str:
    """"Alice: " before a turn's first line (TXT, SRT), or "" when nobody is named."""
    name = who(entry, names, shown) if isinstance(entry, Turn) else ""
    return f"{name}: " if name else ""


def _cue_times(entry: Entry) -> tuple[int, int]:
    start, end = entry.start_ms, entry.end_ms
    if end <= start:
        end = start + 1000  # subtitle players drop zero-length cues
    return start, end


def to_txt(entries: Sequence[Entry], opts: ExportOptions) -> str:
    out: list[str] = []
    names, shown = _who(entries, opts)
    for entry in entries:
        stamp = f"[{clock(entry.start_ms, sep='')}] " if opts.timestamps else ""
        if isinstance(entry, Gap):
            span = f"[{clock(entry.start_ms, sep='')}–{clock(entry.end_ms, sep='')}] " if opts.timestamps else ""
            out.append(f"{span}{GAP_TEXT}")
            continue
        lines = _lines(entry, opts)
        out.append(stamp + _said(entry, names, shown) + lines[0])
        indent = " " * len(stamp)
        for lang, line in zip(opts.languages, lines[1:], strict=False):  # none for original-only
            out.append(f"{indent}[{lang}] {line}")
    return "\n".join(out) + ("\n" if out else "")


def original_label(entry: Turn, opts: ExportOptions) -> str:
    """The original's language code for a label: the turn's own, the session's spoken language, the
    one language its speech model hears, or "original" when nobody knows."""
    if entry.language_code:
        return entry.language_code
    if opts.metadata.get("source_code"):
        return str(opts.metadata["source_code"])
    model = str(opts.metadata.get("speech_model") or "")
    if model in SPEECH_MODEL_IDS and len(speech_model(model).languages) == 1:
        return speech_model(model).languages[0]
    return "original"


def export_files(fmt: str, opts: ExportOptions, path: Path) -> list[tuple[Path, ExportOptions]]:
    """The files one export writes: ``path``, except bilingual subtitles with several translations,
    which are one file per translation, each with the original (``talk.es.srt``, ``talk.de.srt``)."""
    if fmt in SUBTITLE_FORMATS and opts.content is Content.BILINGUAL and len(opts.languages) > 1:
        return [(path.with_name(f"{path.stem}.{lang}{path.suffix}"), replace(opts, languages=(lang,)))
                for lang in opts.languages]
    return [(path, opts)]


def _cue_lines(entry: Entry, opts: ExportOptions) -> list[str]:
    lines = _lines(entry, opts)
    if opts.content is not Content.BILINGUAL or not isinstance(entry, Turn) or not opts.languages:
        return lines
    if len(opts.languages) > 1:
        raise ValueError("a subtitle cue carries at most two languages; export_files() splits the export")
    return [f"[{original_label(entry, opts)}] {lines[0]}", f"[{opts.languages[0]}] {lines[1]}"]


def _vtt_text(text: str) -> str:
    """Cue text as WebVTT reads it: ``&``, ``<`` and ``>`` are markup there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _subtitles(entries: Sequence[Entry], opts: ExportOptions, sep: str, vtt: bool) -> list[str]:
    # "-->" inside cue text would end a WebVTT cue early; a blank line would end an SRT cue.
    out: list[str] = []
    names, shown = _who(entries, opts)
    for n, entry in enumerate(entries, start=1):
        start, end = _cue_times(entry)
        if not vtt:
            out.append(str(n))
        out.append(f"{clock(start, sep=sep)} --> {clock(end, sep=sep)}")
        lines = [line.replace("\n", " ").replace("-->", "->") for line in _cue_lines(entry, opts)]
        name = who(entry, names, shown) if isinstance(entry, Turn) else ""
        if vtt:
            # A voice span on every line: players style (and colour) each speaker's lines alike.
            voice = _vtt_text(name)
            lines = [f"<v {voice}>{_vtt_text(line)}</v>" if name else _vtt_text(line) for line in lines]
        elif name:
            lines[0] = f"{name}: {lines[0]}"
        out.extend(line or " " for line in lines)
        out.append("")
    return out


def to_srt(entries: Sequence[Entry], opts: ExportOptions) -> str:
    return "\n".join(_subtitles(entries, opts, ",", vtt=False))


def to_vtt(entries: Sequence[Entry], opts: ExportOptions) -> str:
    return "WEBVTT\n\n" + "\n".join(_subtitles(entries, opts, ".", vtt=True))


def to_json(entries: Sequence[Entry], opts: ExportOptions) -> str:
    turns: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    names, shown = _who(entries, opts)
    for entry in entries:
        if isinstance(entry, Gap):
            gaps.append({"start_ms": entry.start_ms, "end_ms": entry.end_ms, "reason": entry.reason})
            continue
        langs = opts.languages or tuple(entry.translations)
        turns.append({
            "index": entry.index,
            "start_ms": entry.start_ms,
            "end_ms": entry.end_ms,
            "text": entry.text if opts.content is not Content.TRANSLATION else None,
            "language_code": entry.language_code,
            "speaker": entry.speaker,
            "side": entry.side,
            **({"who": who(entry, names, shown), "side_name": names.side(entry.side),
                **({"speaker_name": names.speaker(entry.speaker)} if entry.speaker else {})} if shown else {}),
            "finalized_at": entry.finalized_at,
            "translations": {
                lang: {
                    "text": tr.text,
                    "status": tr.status.value,
                    "model": tr.model,
                    "latency_ms": tr.latency_ms,
                    **({"error": tr.error} if tr.error else {}),
                }
                for lang in langs
                if (tr := entry.translations.get(lang)) is not None and opts.content is not Content.ORIGINAL
            },
        })
    doc = {"format": "live-translate-transcript", "version": 1, "session": opts.metadata,
           "content": opts.content.value, "languages": list(opts.languages), "turns": turns, "gaps": gaps}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def to_markdown(entries: Sequence[Entry], opts: ExportOptions) -> str:
    title = opts.metadata.get("title") or "Transcript"
    out = [f"# {_md_cell(str(title))}", ""]
    for key in ("started", "source", "speech_model", "llm_model"):
        if opts.metadata.get(key):
            out.append(f"- **{key.replace('_', ' ')}**: {_md_cell(str(opts.metadata[key]))}")
    if len(out) > 2:
        out.append("")
    if opts.content is Content.ORIGINAL:
        columns = ["Original"]
    elif opts.content is Content.TRANSLATION:
        columns = [label_name(opts.languages[0])]
    else:
        columns = ["Original", *(label_name(c) for c in opts.languages)]
    names, shown = _who(entries, opts)
    if shown:
        columns.insert(0, "Who")
    if opts.timestamps:
        columns.insert(0, "Time")
    out.append("| " + " | ".join(columns) + " |")
    out.append("|" + "---|" * len(columns))
    for entry in entries:
        cells = [_md_cell(line) for line in _lines(entry, opts)]
        if isinstance(entry, Gap):
            cells = [f"*{GAP_TEXT}*"] + [""] * (len(columns) - 1 - (1 if opts.timestamps else 0) - (1 if shown else 0))
        if shown:
            cells.insert(0, _md_cell(who(entry, names, shown)) if isinstance(entry, Turn) else "")
        if opts.timestamps:
            stamp = clock(entry.start_ms, sep="")
            if isinstance(entry, Gap):
                stamp += f"–{clock(entry.end_ms, sep='')}"
            cells.insert(0, stamp)
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


RENDERERS = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt, "json": to_json, "md": to_markdown}


def render(fmt: str, entries: Sequence[Entry], opts: ExportOptions) -> str:
    try:
        return RENDERERS[fmt](entries, opts)
    except KeyError:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}") from None


def write_session_exports(folder: Path, entries: Sequence[Entry], languages: Sequence[str],
                          metadata: dict[str, Any]) -> list[Path]:
    """Everything a finished session folder holds besides ``audio.wav``: bilingual TXT, Markdown and
    the full JSON; SRT and VTT bilingual with one translation, the original only with several (a cue
    carries at most two languages); and one translation-only SRT per target language."""
    opts = ExportOptions(Content.BILINGUAL, tuple(languages), True, metadata)
    subtitles = opts if len(languages) <= 1 else replace(opts, content=Content.ORIGINAL)
    written: list[Path] = []
    for fmt in FORMATS:
        path = folder / f"transcript.{fmt}"
        path.write_text(render(fmt, entries, subtitles if fmt in SUBTITLE_FORMATS else opts), encoding="utf-8")
        written.append(path)
    for lang in languages:
        path = folder / f"transcript.{lang}.srt"
        path.write_text(to_srt(entries, ExportOptions(Content.TRANSLATION, (lang,), True, metadata)), encoding="utf-8")
        written.append(path)
    return written
