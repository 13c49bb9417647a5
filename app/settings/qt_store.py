"""QSettings <-> ``Settings``, plus the window's geometry and layout. Never the API key.

GUI thread (QSettings is cheap: an in-memory cache flushed by Qt). Every key is a member of
``SettingsKey``; nothing else is written. Values are stored as plain strings/ints/bools and
parsed back defensively, because QSettings' INI back end returns a one-element list as a plain
string and every value as a string: a hand-edited or stale file gives defaults, never a crash.
``SETTINGS_VERSION`` is written on every save; ``migrate()`` upgrades older files step by step.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from app.core.backends import SPEECH_BACKENDS, TRANSLATION_BACKENDS
from app.core.catalog import MAX_SPEAKERS, MODES, REGION_IDS, SPEECH_MODEL_IDS, TURN_PRESETS
from app.core.devices import means_system_default
from app.core.exports import FORMATS, Content
from app.core.languages import find_language
from app.core.settings import FONT_SIZE_MAX, FONT_SIZE_MIN, Settings

log = logging.getLogger("app.settings")

SETTINGS_VERSION = 2


class SettingsKey(str, Enum):
    VERSION = "meta/version"
    TARGETS = "session/targets"  # comma-separated ISO codes, column order
    SOURCE = "session/source"  # "" = auto
    SPEECH_MODEL = "session/speech_model"
    DEVICE = "session/device"  # device NAME ("" = system default): indices shift on replug
    FORMAT_TURNS = "session/format_turns"
    TURN_PRESET = "session/turn_preset"  # "" = service default
    MODE = "session/mode"  # "" = service default; universal-3-5-pro only
    KEYTERMS = "session/keyterms"  # JSON list
    SPEAKERS = "session/speakers"
    MAX_SPEAKERS = "session/max_speakers"  # 0 = let the service decide
    TWO_WAY = "session/two_way"  # the microphone and the system audio at once
    OTHER_LANGUAGE = "session/other_language"  # "" = not chosen yet
    SYSTEM_DEVICE = "session/system_device"  # "" = what the default output plays
    REGION = "service/region"
    STREAMING_URL = "service/streaming_url"
    LLM_URL = "service/llm_url"
    LLM_MODEL = "service/llm_model"
    SPEECH_BACKEND = "service/speech_backend"
    TRANSLATION_BACKEND = "service/translation_backend"
    SESSIONS_DIR = "output/sessions_dir"
    EXPORT_FOLDER = "export/folder"  # the folder of the last export ("" = the Documents folder)
    EXPORT_FORMAT = "export/format"
    EXPORT_CONTENT = "export/content"  # bilingual / original / translation
    EXPORT_LANGUAGE = "export/language"  # the one translation, for content=translation
    EXPORT_TIMESTAMPS = "export/timestamps"
    EXPORT_AUDIO = "export/copy_audio"
    FONT_SIZE = "view/font_size"
    WINDOW_GEOMETRY = "window/geometry"
    WINDOW_STATE = "window/state"
    OVERLAY_PLACES = "overlay/places"  # JSON: per screen, the caption overlay's place, size and style


# ``frame_ms`` is not persisted: a tuning knob for the command line only.
assert not any("key" in f.name.split("_") for f in fields(Settings)), "the API key never goes to QSettings"



@dataclass(frozen=True)
class ExportChoices:
    """What the export dialog remembers from one export to the next."""

    fmt: str = "txt"
    content: str = "bilingual"
    language: str | None = None
    timestamps: bool = True
    copy_audio: bool = False
    folder: Path | None = None


class QtSettingsStore:
    def __init__(self, qsettings: QSettings) -> None:
        self._q = qsettings
        self.notices: list[str] = []  # what load() had to drop, for the window to say once
        self.migrate()

    @property
    def qsettings(self) -> QSettings:
        return self._q

    # --- Settings -----------------------------------------------------------------------------

    def load(self) -> Settings:
        defaults = Settings()
        values: dict[str, object] = {}
        text = self._text
        stored_targets = [c.strip() for c in text(SettingsKey.TARGETS, ",".join(defaults.targets)).split(",")]
        known = [lang.code for c in stored_targets if c and (lang := find_language(c)) is not None]
        unknown = [c for c in stored_targets if c and find_language(c) is None]
        if unknown:
            # An older version (or a hand edit) saved a code this version's table does not know.
            self.notices.append(f"The saved target language{'s' if len(unknown) > 1 else ''} "
                                f"{', '.join(repr(c) for c in unknown)} {'are' if len(unknown) > 1 else 'is'} not "
                                "known to this version and was dropped; choose the languages under Translate to.")
        values["targets"] = tuple(dict.fromkeys(known)) or defaults.targets
        values["source"] = text(SettingsKey.SOURCE, "") or None
        model = text(SettingsKey.SPEECH_MODEL, defaults.speech_model)
        values["speech_model"] = model if model in SPEECH_MODEL_IDS else defaults.speech_model
        values["device"] = text(SettingsKey.DEVICE, "") or None
        values["format_turns"] = self._bool(SettingsKey.FORMAT_TURNS, defaults.format_turns)
        preset = text(SettingsKey.TURN_PRESET, "")
        values["turn_preset"] = preset if preset in TURN_PRESETS else None
        mode = text(SettingsKey.MODE, "")
        values["mode"] = mode if mode in MODES else None
        values["keyterms"] = self._keyterms()
        values["speakers"] = self._bool(SettingsKey.SPEAKERS, defaults.speakers)
        count = self._int(SettingsKey.MAX_SPEAKERS, 0)
        values["max_speakers"] = count if 1 <= count <= MAX_SPEAKERS else None
        values["two_way"] = self._bool(SettingsKey.TWO_WAY, defaults.two_way)
        other = text(SettingsKey.OTHER_LANGUAGE, "")
        values["other_language"] = other if other and find_language(other) is not None else None
        values["system_device"] = text(SettingsKey.SYSTEM_DEVICE, "") or None
        region = text(SettingsKey.REGION, defaults.region)
        values["region"] = region if region in REGION_IDS else defaults.region
        values["streaming_url"] = text(SettingsKey.STREAMING_URL, "") or None
        values["llm_url"] = text(SettingsKey.LLM_URL, "") or None
        values["llm_model"] = text(SettingsKey.LLM_MODEL, defaults.llm_model) or defaults.llm_model
        speech = text(SettingsKey.SPEECH_BACKEND, defaults.speech_backend)
        values["speech_backend"] = speech if speech in SPEECH_BACKENDS else defaults.speech_backend
        translation = text(SettingsKey.TRANSLATION_BACKEND, defaults.translation_backend)
        values["translation_backend"] = (translation if translation in TRANSLATION_BACKENDS
                                         else defaults.translation_backend)
        folder = text(SettingsKey.SESSIONS_DIR, "")
        values["sessions_dir"] = Path(folder) if folder else None
        size = self._int(SettingsKey.FONT_SIZE, defaults.font_size)
        values["font_size"] = size if FONT_SIZE_MIN <= size <= FONT_SIZE_MAX else defaults.font_size
        return defaults.with_changes(**values)

    def save(self, settings: Settings) -> None:
        values: dict[SettingsKey, object] = {
            SettingsKey.VERSION: SETTINGS_VERSION,
            SettingsKey.TARGETS: ",".join(settings.targets),
            SettingsKey.SOURCE: settings.source or "",
            SettingsKey.SPEECH_MODEL: settings.speech_model,
            SettingsKey.DEVICE: settings.device or "",
            SettingsKey.FORMAT_TURNS: settings.format_turns,
            SettingsKey.TURN_PRESET: settings.turn_preset or "",
            SettingsKey.MODE: settings.mode or "",
            SettingsKey.KEYTERMS: json.dumps(list(settings.keyterms), ensure_ascii=False) if settings.keyterms else "",
            SettingsKey.SPEAKERS: settings.speakers,
            SettingsKey.MAX_SPEAKERS: settings.max_speakers or 0,
            SettingsKey.TWO_WAY: settings.two_way,
            SettingsKey.OTHER_LANGUAGE: settings.other_language or "",
            SettingsKey.SYSTEM_DEVICE: settings.system_device or "",
            SettingsKey.REGION: settings.region,
            SettingsKey.STREAMING_URL: settings.streaming_url or "",
            SettingsKey.LLM_URL: settings.llm_url or "",
            SettingsKey.LLM_MODEL: settings.llm_model,
            SettingsKey.SPEECH_BACKEND: settings.speech_backend,
            SettingsKey.TRANSLATION_BACKEND: settings.translation_backend,
            SettingsKey.SESSIONS_DIR: str(settings.sessions_dir) if settings.sessions_dir else "",
            SettingsKey.FONT_SIZE: settings.font_size,
        }
        for key, value in values.items():
            self._q.setValue(key.value, value)
        self._q.sync()

    # --- the export dialog's choices ---------------------------------------------------------

    def export_choices(self) -> ExportChoices:
        defaults = ExportChoices()
        fmt = self._text(SettingsKey.EXPORT_FORMAT, defaults.fmt)
        content = self._text(SettingsKey.EXPORT_CONTENT, defaults.content)
        folder = self._text(SettingsKey.EXPORT_FOLDER, "")
        return ExportChoices(
            fmt=fmt if fmt in FORMATS else defaults.fmt,
            content=content if content in {c.value for c in Content} else defaults.content,
            language=self._text(SettingsKey.EXPORT_LANGUAGE, "") or None,
            timestamps=self._bool(SettingsKey.EXPORT_TIMESTAMPS, defaults.timestamps),
            copy_audio=self._bool(SettingsKey.EXPORT_AUDIO, defaults.copy_audio),
            folder=Path(folder) if folder else None)

    def save_export_choices(self, choices: ExportChoices) -> None:
        for key, value in ((SettingsKey.EXPORT_FORMAT, choices.fmt), (SettingsKey.EXPORT_CONTENT, choices.content),
                           (SettingsKey.EXPORT_LANGUAGE, choices.language or ""),
                           (SettingsKey.EXPORT_TIMESTAMPS, choices.timestamps),
                           (SettingsKey.EXPORT_AUDIO, choices.copy_audio),
                           (SettingsKey.EXPORT_FOLDER, str(choices.folder) if choices.folder else "")):
            self._q.setValue(key.value, value)
        self._q.sync()

    # --- window layout ------------------------------------------------------------------------

    def window_bytes(self, key: SettingsKey) -> QByteArray | None:
        value = self._q.value(key.value)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_bytes(self, key: SettingsKey, value: QByteArray) -> None:
        self._q.setValue(key.value, value)

    def overlay_places(self) -> str:
        """The caption overlay's places and styles (JSON, parsed by ``app.core.captions``)."""
        return self._text(SettingsKey.OVERLAY_PLACES, "")

    def set_overlay_places(self, text: str) -> None:
        self._q.setValue(SettingsKey.OVERLAY_PLACES.value, text)

    # --- versions -----------------------------------------------------------------------------

    def version(self) -> int:
        return self._int(SettingsKey.VERSION, 0)

    def migrate(self) -> None:
        """Bring an older file up to ``SETTINGS_VERSION``; each step is idempotent."""
        version = self.version()
        if version > SETTINGS_VERSION:
            log.warning("settings file version %s is newer than this app (%s); reading what it knows",
                        version, SETTINGS_VERSION)
            return
        if version < 1 and self._q.contains("target_language"):
            # Before version 1 (the tutorial-era prototype) one target was stored as "target_language".
            self._q.setValue(SettingsKey.TARGETS.value, str(self._q.value("target_language") or ""))
            self._q.remove("target_language")
        if version < 2 and means_system_default(self._text(SettingsKey.DEVICE, "")):
            # Version 1 saved PortAudio's names; "default", "pulse" and the like all meant the
            # system's default, which is now the one "System default" entry (""). A saved hardware
            # name is found again when the devices are listed (their aliases) and saved anew then.
            self._q.setValue(SettingsKey.DEVICE.value, "")
        if version < SETTINGS_VERSION and self._q.allKeys():
            self._q.setValue(SettingsKey.VERSION.value, SETTINGS_VERSION)

    # --- parsing ------------------------------------------------------------------------------

    def _text(self, key: SettingsKey, default: str) -> str:
        value = self._q.value(key.value, default)
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        return default if value is None else str(value).strip()

    def _bool(self, key: SettingsKey, default: bool) -> bool:
        value = self._q.value(key.value, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text, default)

    def _int(self, key: SettingsKey, default: int) -> int:
        try:
            return int(str(self._q.value(key.value, default)))
        except ValueError:
            return default

    def _keyterms(self) -> tuple[str, ...]:
        raw = self._text(SettingsKey.KEYTERMS, "")
        if not raw:
            return ()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.split(",")
        if not isinstance(parsed, list):
            return ()
        return tuple(str(t).strip() for t in parsed if str(t).strip())
