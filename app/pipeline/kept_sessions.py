"""What the archive hands out about kept sessions: a session loaded with its translation sets, a row
of the list, a search hit, a deletion's plan, an import, a rebuild's report, and the archive's
errors. Re-exported by ``app.pipeline.archive``: import them from there. Qt-free; plain data.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import ConfigError
from app.core.kept import SetState, TranslationSet, parse_label
from app.core.transcript import Gap, Transcript, Translation, TranslationStatus, Turn
from app.core.who import Names, names_of
from app.core.wording import counted
from app.store.db import SessionOverview, SessionRecord
from app.store.search import SearchHit

NOT_REACHED_TEXT = "Not translated: this translation stopped before it reached this turn. Retry it."


class ArchiveError(ConfigError):
    """Something asked of the archive that cannot be done; the message says why and what to do."""


class UnknownSession(ArchiveError):
    """No session with that ID (never was, or deleted meanwhile: in another window, by a script)."""

    exit_code = 10


@dataclass(frozen=True)
class ArchivedSession:
    record: SessionRecord
    transcript: Transcript  # turns with their first set of each language (``Turn.translations``)
    sets: tuple[TranslationSet, ...] = ()  # every set, in column order
    extra: dict[str, dict[int, Translation]] = field(default_factory=dict)  # later sets: label -> turn -> cell

    @property
    def entries(self) -> list[Turn | Gap]:
        return self.transcript.entries()

    @property
    def languages(self) -> tuple[str, ...]:
        """The session's target languages, then any other language a turn was translated into."""
        found = [code for turn in self.transcript.turns() for code in turn.translations]
        return tuple(dict.fromkeys((*self.record.target_languages, *found)))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every translation column's label: the session's languages, then the sets made later."""
        return tuple(dict.fromkeys((*self.languages, *(s.label for s in self.sets))))

    def column_names(self) -> dict[str, str]:
        named = {s.label: s.column_name() for s in self.sets}
        return {label: named.get(label) or TranslationSet(label).column_name() for label in self.columns}

    def set_for(self, label: str) -> TranslationSet | None:
        return next((s for s in self.sets if s.label == label), None)

    def entries_with(self, columns: Sequence[str] | None = None) -> list[Turn | Gap]:
        """The entries with their translations under each column's label (``es``, ``es.2``). A
        set made later (or left unfinished) that lacks a turn says so: "not translated", to retry."""
        wanted = tuple(columns) if columns is not None else self.columns
        unfinished = self._unfinished()
        out: list[Turn | Gap] = []
        for entry in self.entries:
            if isinstance(entry, Turn):
                cells = {label: entry.translations[label] for label in wanted if label in entry.translations}
                cells.update({label: self.extra[label][entry.index] for label in wanted
                              if label in self.extra and entry.index in self.extra[label]})
                for label in wanted:
                    if label not in cells and label in unfinished and entry.text.strip():
                        cells[label] = Translation(unfinished[label].language, "", TranslationStatus.FAILED,
                                                   error=NOT_REACHED_TEXT)
                entry.translations = cells
            out.append(entry)
        return out

    def _unfinished(self) -> dict[str, TranslationSet]:
        """Sets whose missing cells are owed: made after the session, or not finished."""
        return {s.label: s for s in self.sets if not s.own or s.state is not SetState.DONE}

    def failed_cells(self) -> list[tuple[int, str]]:
        """(turn index, column) of every cell not translated: failed, or missing from a set made
        later or left unfinished (cancelled, or the app stopped while it ran)."""
        return [(entry.index, label) for entry in self.entries_with() if isinstance(entry, Turn)
                for label, cell in entry.translations.items() if cell.status is TranslationStatus.FAILED]

    @property
    def names(self) -> Names:
        """The names the user gave the session's speakers and sides (its meta's ``names``)."""
        return names_of(self.record.meta)

    @property
    def audio_there(self) -> bool:
        """False when the WAV was moved or deleted: the transcript still works."""
        return self.record.audio_path.is_file()

    @property
    def title(self) -> str:
        return self.record.title or self.record.folder.name

    def metadata(self, columns: Sequence[str] | None = None) -> dict[str, object]:
        """The session facts every export carries (the full JSON reads them back on import)."""
        chosen = tuple(columns) if columns is not None else self.columns
        r = self.record
        return {"title": self.title, "started": r.folder.name, "source_code": r.source_language or "",
                "speech_model": r.speech_model, "llm_model": r.llm_model, "targets": list(self.languages),
                "audio": r.audio_path.name, "uid": r.uid, "id": r.short_id, "note": r.user_note,
                "started_at": r.started_at, "duration_ms": r.duration_ms,
                "translation_sets": [s.to_json() for s in self.sets if s.label in chosen],
                **({"names": self.names.to_json()} if self.names else {})}


@dataclass(frozen=True)
class ListedSession:
    """A row of the history list."""

    overview: SessionOverview
    audio_there: bool

    @property
    def record(self) -> SessionRecord:
        return self.overview.record

    @property
    def title(self) -> str:
        return self.record.title or self.record.folder.name


@dataclass(frozen=True)
class FoundTurn:
    """A search hit with the session it is in."""

    hit: SearchHit
    record: SessionRecord

    @property
    def column_name(self) -> str:
        label = self.hit.column
        return "Original" if label is None else TranslationSet(*(parse_label(label) or (label, 1))).column_name()


@dataclass(frozen=True)
class DeletionPlan:
    """Exactly what deleting a session removes, for the confirmation to name."""

    session_id: int
    title: str
    folder: Path
    audio: Path | None  # the recording, if it is there
    files: tuple[Path, ...]  # every file that goes, the recording included
    folder_goes: bool  # True when nothing else is left in the folder
    kept: tuple[str, ...]  # names of other files in the folder, which stay

    def describe(self) -> str:
        parts = []
        if self.audio is not None:
            parts.append(f"the recording {self.audio.name} ({_size(self.audio)})")
        others = len(self.files) - (1 if self.audio is not None else 0)
        if others:
            parts.append(f"{others} transcript file{'s' if others != 1 else ''}")
        what = " and ".join(parts) + f" in {self.folder}" if parts else "nothing on the disk"
        folder = " (the folder goes too)" if self.folder_goes else (
            f"; {len(self.kept)} other file{'s' if len(self.kept) != 1 else ''} in it stay" if self.kept else "")
        return f"“{self.title}” leaves the history, with {what}{folder}. This cannot be undone."


@dataclass(frozen=True)
class Imported:
    session_id: int
    short_id: str
    title: str
    folder: Path
    turns: int
    new: bool  # False: it was in the archive already and is up to date now
    note: str = ""  # said to the user (a folder with a recording but no transcript)


@dataclass(frozen=True)
class RebuildReport:
    imported: list[Imported]
    failed: list[tuple[Path, str]]

    def describe(self) -> str:
        failed = f"; {len(self.failed)} could not be read ({self.failed[0][1]})" if self.failed else ""
        return f"The history was rebuilt from the session folders: {counted(len(self.imported), 'session')}{failed}."


def _size(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        return "size unknown"
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(1, size // 1024)} KB"
