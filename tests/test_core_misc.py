"""Languages, settings, folders, and the layering rule (core/stt/audio/translate/store need no Qt)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import ConfigError, OutputError
from app.core.languages import resolve_language
from app.core.settings import ReconnectPolicy, Settings
from app.core.validate import validate
from app.pipeline.folders import check_writable, new_session_folder


@pytest.mark.parametrize(("text", "code"), [("es", "es"), ("Spanish", "es"), ("español", "es"), ("ES", "es"),
                                        ("Deutsch", "de"), ("zh-CN", "zh"), ("pt_BR", "pt-BR"), ("japanese", "ja")])
def test_languages_resolve_by_code_name_or_native_name(text: str, code: str) -> None:
    assert resolve_language(text).code == code


def test_unknown_language_suggests_close_names() -> None:
    with pytest.raises(ConfigError, match=r"Unknown language 'Spansh'.*Spanish \(es\).*--list-languages"):
        resolve_language("Spansh")


def test_reconnect_backoff_is_fast_first_then_doubling_capped_and_jittered() -> None:
    policy = ReconnectPolicy(first_delay_s=0.25, factor=2, max_delay_s=4, jitter=(0.8, 1.2))
    assert policy.delay(1, 0.5) == pytest.approx(0.25)
    assert policy.delay(3, 0.5) == pytest.approx(1.0)
    assert policy.delay(10, 0.5) == pytest.approx(4.0)
    assert policy.delay(1, 0.0) == pytest.approx(0.2) and policy.delay(1, 0.999) == pytest.approx(0.3, abs=1e-3)


def test_eu_region_uses_the_eu_llm_gateway_unless_overridden() -> None:
    assert validate(Settings(region="eu")).llm_url == "https://llm-gateway.eu.assemblyai.com/v1"
    assert validate(Settings(region="eu", llm_url="http://127.0.0.1:9/v1/")).llm_url == "http://127.0.0.1:9/v1"


def test_session_folders_are_unique_per_start(tmp_path: Path) -> None:
    a = new_session_folder(tmp_path, 1_700_000_000)
    b = new_session_folder(tmp_path, 1_700_000_000)
    assert a != b and a.is_dir() and b.name == a.name + "_2"


def test_unwritable_sessions_folder_is_refused_before_recording(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="Cannot create the sessions folder"):
        check_writable(blocker / "sessions")
    if os.geteuid() != 0:  # root can write anywhere; the file case above covers it
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(OutputError, match="Cannot write"):
            check_writable(ro)


def test_too_little_free_space_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="MB are free"):
        check_writable(tmp_path, min_free=1 << 62)


def test_lower_layers_import_without_qt() -> None:
    """napari's trick: block PySide6 and import everything below workers/ui."""
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "import app.core.turn_events, app.core.exports, app.core.languages, app.core.settings\n"
        "import app.stt.protocol, app.stt.client, app.stt.framing\n"
        "import app.audio.wav_writer, app.audio.wav_source, app.audio.microphone, app.core.level\n"
        "import app.translate.gateway, app.translate.queue, app.store.db\n"
        "import app.pipeline.session, app.pipeline.factory, app.pipeline.recovery, app.cli\n"
        "import app.settings.keystore\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_command_line_takes_targets_repeated_or_as_a_comma_separated_list() -> None:
    from app.cli import build_parser, settings_from_args

    args = build_parser().parse_args(["--to", "es, German", "--to", "ja", "--to", "fr,"])
    assert settings_from_args(args, Settings()).targets == ("es", "de", "ja", "fr")
