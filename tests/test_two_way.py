"""Two-way conversations: the microphone (you) and the system audio (them) at once, each over its own
connection in its own language, one time-ordered transcript with each turn's side, each side's own
WAV on one timeline, echo marked once, and the bad inputs (same language, a missing language, no
system audio, an output that vanishes, a long silence)."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer, Fault
from PySide6.QtCore import Qt
from session_rig import KEY as RIG_KEY
from session_rig import cli_env, make_session, run_to_end
from support.pulse import SINK_NAME, VirtualMicrophone
from support.speech import make_speech_wav
from ui_support import qt_hygiene  # noqa: F401 - autouse fixture

import app.pipeline.session as session_module
from app.audio.wav_source import WavFileSource
from app.cli import build_parser, settings_from_args
from app.core.errors import ConfigError
from app.core.settings import Settings
from app.core.transcript import MICROPHONE, SYSTEM_AUDIO, Translation, TranslationStatus, Turn
from app.pipeline.echo import EchoGuard
from app.pipeline.two_way import plan_two_way
from app.terminal import TerminalListener

KEY = "two-way-key-0123456789"
MULTILINGUAL = "universal-streaming-multilingual"  # the other side's (German) model; yours is the English one
MINE = ["Hello, can you hear me?", "Shall we start the meeting?"]
THEIRS = ["Ja, ich höre dich gut.", "Ja, fangen wir an."]


# --- the plan ---------------------------------------------------------------------------------------


def test_each_side_is_translated_into_the_other_sides_language_and_the_extras() -> None:
    two = plan_two_way(Settings(two_way=True, source="en", other_language="German", targets=("fr", "de")))
    assert [t.code for t in two.targets] == ["en", "de", "fr"]
    assert [t.code for t in two.you.plan.targets] == ["de", "fr"] and two.you.plan.model.id != MULTILINGUAL
    assert [t.code for t in two.them.plan.targets] == ["en", "fr"] and two.them.plan.model.id == MULTILINGUAL
    assert (two.you.side, two.them.side) == (MICROPHONE, SYSTEM_AUDIO) and two.them.device == "System audio"


@pytest.mark.parametrize(("changes", "said"), [
    ({"source": "en", "other_language": "English"}, "both speak English"),
    ({"source": "en-US", "other_language": "en"}, "both speak"),
    ({"source": "en", "other_language": None}, "needs both languages"),
    ({"source": None, "other_language": "de"}, "needs both languages"),
])
def test_two_way_refuses_what_cannot_work_and_says_why(changes, said) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_two_way(Settings(two_way=True, **changes))
    assert said in caught.value.message


def parse(*argv: str) -> Settings:
    return settings_from_args(build_parser().parse_args(list(argv)), Settings())


def test_the_command_line_two_way_options() -> None:
    settings = parse("--two-way", "--from", "English", "--other-language", "de")
    assert (settings.two_way, settings.source, settings.other_language, settings.targets) == (True, "en", "de", ())
    assert parse("--two-way", "--from", "en", "--other-language", "de", "--to", "fr,de").targets == ("fr",)
    for argv, said in ((("--other-language", "de"), "add --two-way"),
                       (("--two-way", "--from", "en", "--other-language", "en"), "both speak English"),
                       (("--two-way", "--system-audio", "--from", "en", "--other-language", "de"), "--other-device")):
        with pytest.raises(ConfigError) as caught:
            parse(*argv)
        assert said in caught.value.message


# --- echo -------------------------------------------------------------------------------------------


def turn(index: int, side: str, text: str, start_ms: int) -> Turn:
    return Turn(index, 0, index, text, start_ms, start_ms + 1500, 0.0, side=side)


def test_the_same_words_on_both_sides_within_two_seconds_are_an_echo() -> None:
    guard = EchoGuard()
    assert guard.echo_of(turn(0, SYSTEM_AUDIO, "Can you share your screen?", 1000)) is None
    echo = guard.echo_of(turn(1, MICROPHONE, "can you share your screen", 1600))
    assert echo is not None and echo.index == 0 and guard.heard == 1
    assert guard.echo_of(turn(2, MICROPHONE, "Can you share your screen?", 9000)) is None, "later: said again"
    assert guard.echo_of(turn(3, SYSTEM_AUDIO, "Yes.", 9100)) is None
    assert guard.echo_of(turn(4, MICROPHONE, "Yes.", 9200)) is None, "one word on each side is a conversation"
    assert guard.echo_of(turn(5, MICROPHONE, "I will share it now", 12000)) is None


def test_the_terminal_names_each_side_and_prints_an_echo_without_translations() -> None:
    out = io.StringIO()
    listener = TerminalListener(["en", "de"], jsonl=False, out=out, err=io.StringIO(),
                                sides={MICROPHONE: "You", SYSTEM_AUDIO: "Them"})
    listener.turn_finalized(turn(0, SYSTEM_AUDIO, "Hallo zusammen.", 0))
    listener.translation_updated(0, Translation("de", "Hallo zusammen.", TranslationStatus.DONE, model="original"))
    listener.translation_updated(0, Translation("en", "Hello everyone.", TranslationStatus.DONE))
    listener.turn_finalized(Turn(1, 0, 0, "Hallo zusammen.", 300, 1800, 0.0, side=MICROPHONE, echo_of=0))
    assert out.getvalue().splitlines() == [
        "[00:00:00] Them: Hallo zusammen.", "      en: Hello everyone.",
        "[00:00:00] You: Hallo zusammen.",
        "      (an echo of [00:00:00]: the microphone heard the speakers; not translated again)"]


def test_the_window_shows_an_echo_as_such_never_as_translating(qapp) -> None:  # type: ignore[no-untyped-def]
    from app.core.who import Shown
    from app.ui.transcript_model import CellState, TranscriptModel
    from app.ui.transcript_model import Role as CellRole

    model = TranscriptModel(("en", "de"))
    model.start_session(shown=Shown(sides=True))
    model.add_turn(Turn(0, 0, 0, "Hallo zusammen.", 6000, 7500, 0.0, side=SYSTEM_AUDIO))
    model.add_turn(Turn(1, 0, 0, "Hallo zusammen.", 6300, 7800, 0.0, side=MICROPHONE, echo_of=0))
    column = model.language_column("en")
    first, echo = model.index(0, column), model.index(1, column)
    assert first.data(CellRole.CELL_STATE) == CellState.TRANSLATING, "the turn heard first is translated"
    assert echo.data() == "echo" and echo.data(CellRole.CELL_STATE) == CellState.SECONDARY
    assert "at 00:06" in echo.data(Qt.ItemDataRole.ToolTipRole) and "headphones" in echo.data(Qt.ItemDataRole.ToolTipRole)


# --- in process, on the fakes: both sides from recordings ------------------------------------------


def two_way_session(tmp_path: Path, stt: FakeStreamingServer, llm: FakeLlmGateway, mine: Path, theirs: Path):
    return make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, targets=(), spoken="en", two_way=True,
                        other_language="de", source=WavFileSource(mine, realtime=True),
                        other_source=WavFileSource(theirs, realtime=True))


@pytest.mark.realtime
@pytest.mark.timeout(90)
def test_both_sides_are_transcribed_in_their_own_language_in_one_transcript_and_two_wavs(tmp_path) -> None:
    mine = make_speech_wav(tmp_path / "mine.wav", MINE[:1], lead_s=0.3)
    theirs = make_speech_wav(tmp_path / "theirs.wav", THEIRS[:1], lead_s=2.5, voice="de")
    with FakeStreamingServer(api_key=RIG_KEY, script=MINE, model_scripts={MULTILINGUAL: THEIRS}) as stt, \
            FakeLlmGateway(api_key=RIG_KEY) as llm:
        session, recorder = two_way_session(tmp_path, stt, llm, mine, theirs)
        summary = run_to_end(session, recorder)
        models = sorted(c.query["speech_model"] for c in stt.connections)
    assert models == ["universal-streaming-english", MULTILINGUAL], "two connections, one per side"
    turns = session.transcript.turns()
    assert [(t.side, t.text) for t in turns] == [(MICROPHONE, MINE[0]), (SYSTEM_AUDIO, THEIRS[0])]
    you, them = turns
    assert you.translations["de"].text == f"[German] {MINE[0]}" and you.translations["en"].model == "original"
    assert them.translations["en"].text == f"[English] {THEIRS[0]}" and them.translations["de"].model == "original"
    assert len(llm.requests) == 2, "one request per turn: its own language is copied, not asked for"
    for name in ("audio.wav", "audio-system.wav"):
        with wave.open(str(summary.folder / name)) as w:
            assert w.getnframes() / w.getframerate() > 2.0
    saved = json.loads((summary.folder / "transcript.json").read_text())
    assert saved["session"]["two_way"] is True and saved["session"]["system_audio"] == "audio-system.wav"
    assert [t.get("side") for t in saved["turns"]] == [MICROPHONE, SYSTEM_AUDIO]


@pytest.mark.realtime
@pytest.mark.timeout(90)
def test_the_same_words_on_both_sides_are_marked_echo_translated_once_and_headphones_suggested(tmp_path) -> None:
    words = ["Can you share your screen please?"]
    mine = make_speech_wav(tmp_path / "mine.wav", words, lead_s=0.8)  # the microphone hears it a bit later
    theirs = make_speech_wav(tmp_path / "theirs.wav", words, lead_s=0.5)
    with FakeStreamingServer(api_key=RIG_KEY, script=words, model_scripts={MULTILINGUAL: words}) as stt, \
            FakeLlmGateway(api_key=RIG_KEY) as llm:
        session, recorder = two_way_session(tmp_path, stt, llm, mine, theirs)
        run_to_end(session, recorder)
    turns = session.transcript.turns()
    assert len(turns) == 2
    first, echo = turns
    assert echo.echo_of == first.index and first.echo_of is None
    assert echo.translations == {}, "not translated twice"
    assert [e.message for e in recorder.errors if "headphones" in e.message] == [session_module.ECHO_TEXT]


@pytest.mark.realtime
@pytest.mark.timeout(90)
def test_a_long_silence_on_both_sides_says_the_session_is_idle_and_still_billed(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(session_module, "IDLE_NOTICE_MS", 1500)  # the session's watch reads it when made
    silence = make_speech_wav(tmp_path / "quiet.wav", ["Hi."], lead_s=2.5)  # a word after 2.5 s of silence
    with FakeStreamingServer(api_key=RIG_KEY, script=["Hi."], model_scripts={MULTILINGUAL: ["Hallo."]}) as stt, \
            FakeLlmGateway(api_key=RIG_KEY) as llm:
        session, recorder = two_way_session(tmp_path, stt, llm, silence, silence)
        run_to_end(session, recorder)
    idle = [e.message for e in recorder.errors if "idle" in e.message]
    assert len(idle) == 2, "once per quiet stretch: 2.5 s before the word and 2.5 s after it"
    assert "either side for 1 s" in idle[0] and "both connections" in idle[0]
    assert all(not e.fatal for e in recorder.errors)


@pytest.mark.realtime
@pytest.mark.timeout(90)
def test_a_dropped_connection_reconnects_that_side_and_its_gap_says_whose_it_is(tmp_path) -> None:
    mine = make_speech_wav(tmp_path / "mine.wav", MINE, lead_s=0.5, pause_s=2.0)
    theirs = make_speech_wav(tmp_path / "theirs.wav", THEIRS, lead_s=0.5, pause_s=2.0, voice="de")
    # The first connection to open (either side's) drops, without a close frame, after 1.5 s of audio.
    with FakeStreamingServer(api_key=RIG_KEY, script=MINE, model_scripts={MULTILINGUAL: THEIRS},
                             faults=[Fault(drop_after_s=1.5)]) as stt, FakeLlmGateway(api_key=RIG_KEY) as llm:
        session, recorder = two_way_session(tmp_path, stt, llm, mine, theirs)
        summary = run_to_end(session, recorder)
        dropped = stt.connections[0].query["speech_model"]
        models = [c.query["speech_model"] for c in stt.connections]
    assert models.count(dropped) == 2 and len(models) == 3, "only the side that dropped connected again"
    assert summary.reconnects == 1 and summary.error is None
    side = SYSTEM_AUDIO if dropped == MULTILINGUAL else MICROPHONE
    name = {MICROPHONE: "You", SYSTEM_AUDIO: "Them"}[side]
    assert all(g.reason.startswith(f"{name}: ") for g in session.transcript.gaps()), session.transcript.gaps()
    other = MICROPHONE if side == SYSTEM_AUDIO else SYSTEM_AUDIO
    texts = {s: [t.text for t in session.transcript.turns() if t.side == s] for s in (MICROPHONE, SYSTEM_AUDIO)}
    assert texts[other] == (MINE if other == MICROPHONE else THEIRS), "the other side was never interrupted"
    assert texts[side], "the side that dropped goes on after its reconnect"


# --- end to end: the terminal, the rig's microphone and speakers ------------------------------------


def start_two_way(mic: VirtualMicrophone, tmp_path: Path, stt_url: str, llm_url: str, *extra: str,
                  env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--headless", "--two-way", "--from", "en", "--other-language", "de",
         "--jsonl", *extra, "--streaming-url", stt_url, "--llm-url", llm_url, "--out", str(tmp_path / "sessions")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        env=cli_env(tmp_path / "home", KEY, {**mic.client_env(), **(env or {})}))


def read_until(proc: subprocess.Popen[str], done) -> list[dict]:
    assert proc.stdout is not None
    events: list[dict] = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if done(events[-1]):
            break
    return events


def finish(proc: subprocess.Popen[str], events: list[dict]) -> str:
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    events += [json.loads(line) for line in rest.splitlines() if line.strip()]
    return err


@pytest.mark.realtime
@pytest.mark.microphone
@pytest.mark.e2e
@pytest.mark.timeout(120, method="thread")
def test_what_you_say_and_what_they_say_land_on_the_right_side_translated_both_ways(virtual_mic, tmp_path) -> None:
    me = make_speech_wav(tmp_path / "me.wav", MINE[:1])
    them = make_speech_wav(tmp_path / "them.wav", THEIRS[:1], voice="de")
    with FakeStreamingServer(api_key=KEY, script=MINE, model_scripts={MULTILINGUAL: THEIRS}) as stt, \
            FakeLlmGateway(api_key=KEY) as llm, start_two_way(virtual_mic, tmp_path, stt.url, llm.base_url,
                                                              "--to", "fr") as proc:
        events = read_until(proc, lambda e: e.get("state") == "live")
        virtual_mic.play(me)  # you, into the microphone
        virtual_mic.play_system(them)  # they, out of the speakers
        events += read_until(proc, lambda e: e["event"] == "translation" and e["text"] == f"[French] {THEIRS[0]}")
        err = finish(proc, events)
    assert proc.returncode == 0, err
    started = next(e for e in events if e["event"] == "session_started")
    assert started["two_way"] is True and started["streams"] == 2 and "twice" in started["cost"]
    assert started["targets"] == ["en", "de", "fr"]
    turns = [(e["side"], e["text"]) for e in events if e["event"] == "turn"]
    assert turns == [(MICROPHONE, MINE[0]), (SYSTEM_AUDIO, THEIRS[0])]
    done = {(e["turn"], e["language"]): e["text"] for e in events if e["event"] == "translation"}
    assert done[(0, "de")] == f"[German] {MINE[0]}" and done[(1, "en")] == f"[English] {THEIRS[0]}"
    folder = Path(events[-1]["folder"])
    assert (folder / "audio.wav").is_file() and (folder / "audio-system.wav").is_file()


@pytest.mark.realtime
@pytest.mark.microphone
@pytest.mark.e2e
@pytest.mark.timeout(120, method="thread")
def test_an_output_that_vanishes_ends_that_side_only_and_the_microphone_goes_on(virtual_mic, tmp_path) -> None:
    them = make_speech_wav(tmp_path / "them.wav", THEIRS[:1], voice="de")
    with FakeStreamingServer(api_key=KEY, script=MINE, model_scripts={MULTILINGUAL: THEIRS}) as stt, \
            FakeLlmGateway(api_key=KEY) as llm, start_two_way(virtual_mic, tmp_path, stt.url, llm.base_url) as proc:
        events = read_until(proc, lambda e: e.get("state") == "live")
        virtual_mic.play_system(them)
        events += read_until(proc, lambda e: e["event"] == "turn")
        virtual_mic.unplug_speakers()
        events += read_until(proc, lambda e: e["event"] == "error")
        virtual_mic.play(make_speech_wav(tmp_path / "me.wav", MINE[:1]))  # the microphone still works
        events += read_until(proc, lambda e: e["event"] == "turn")
        err = finish(proc, events)
    assert proc.returncode == 0, err
    errors = [e for e in events if e["event"] == "error"]
    assert len(errors) == 1 and not errors[0]["fatal"], errors
    assert "system-audio source" in errors[0]["message"] and "microphone goes on" in errors[0]["message"]
    assert [(e["side"], e["text"]) for e in events if e["event"] == "turn"] == [(SYSTEM_AUDIO, THEIRS[0]),
                                                                               (MICROPHONE, MINE[0])]
    folder = Path(events[-1]["folder"])
    with wave.open(str(folder / "audio-system.wav")) as w:
        assert w.getnframes() > 0, "what the system audio recorded before it vanished is kept"


@pytest.mark.microphone
@pytest.mark.timeout(60)
def test_two_way_without_system_audio_says_what_is_missing(virtual_mic, tmp_path) -> None:
    for line in virtual_mic.pactl("list", "short", "modules").splitlines():
        index, name, *rest = line.split("\t")
        if name == "module-null-sink" and SINK_NAME in " ".join(rest):
            virtual_mic.pactl("unload-module", index)
    done = subprocess.run(
        [sys.executable, "-m", "app", "--headless", "--two-way", "--from", "en", "--other-language", "de",
         "--other-device", "Nothing like this", "--streaming-url", "ws://127.0.0.1:9/v3/ws"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env=cli_env(tmp_path / "home", KEY, virtual_mic.client_env()))
    assert done.returncode == 4, done.stderr
    assert "two-way conversation records the other side from the system audio" in done.stderr.lower()
    assert not list((tmp_path / "home").rglob("audio.wav")), "nothing half-made is left behind"


@pytest.mark.timeout(60)
def test_two_way_without_a_sound_server_names_pulseaudio_or_pipewire(tmp_path) -> None:
    (tmp_path / "none.conf").write_text("autospawn = no\n")
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path / 'none'}", "PULSE_CLIENTCONFIG": str(tmp_path / "none.conf")}
    done = subprocess.run(
        [sys.executable, "-m", "app", "--headless", "--two-way", "--from", "en", "--other-language", "de",
         "--streaming-url", "ws://127.0.0.1:9/v3/ws"], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, env=cli_env(tmp_path / "home", KEY, env))
    assert done.returncode == 4, done.stderr
    assert "microphone" in done.stderr.lower() or "pactl info" in done.stderr


# --- the window's switch ------------------------------------------------------------------------------


def test_the_windows_two_way_switch_says_the_cost_asks_for_their_language_and_is_remembered(qtbot, tmp_path) -> None:
    from ui_support import build_window

    parts = build_window(qtbot, tmp_path, settings=Settings(source="en"))
    window, controls = parts.window, parts.window.controls
    assert not controls.two_way.isChecked() and controls.other_language.isHidden()
    controls.two_way.setChecked(True)
    assert not controls.other_language.isHidden() and not controls.two_way_cost.isHidden()
    assert "twice" in controls.two_way_cost.toolTip() and "twice" in window.status.message_label.text()
    assert controls.fields[0].caption.text() == "Your microphone" and controls.fields[1].caption.text() == "You speak"
    assert controls.two_way.text() == "Two-way; they speak:", "the language under the switch is theirs"
    controls.set_recording(True)
    assert not controls.two_way.isEnabled() and not controls.other_language.isEnabled(), "fixed while recording"
    controls.set_recording(False)
    assert controls.two_way.isEnabled() and controls.other_language.isEnabled()
    assert "needs both languages" in window.not_ready_reason()
    controls.other_language.setCurrentIndex(controls.other_language.findData("en"))
    assert "both speak English" in window.not_ready_reason()
    controls.other_language.setCurrentIndex(controls.other_language.findData("de"))
    assert window.not_ready_reason() == "" or "key" in window.not_ready_reason()
    saved = parts.settings_store.load()
    assert (saved.two_way, saved.other_language) == (True, "de")
    again = build_window(qtbot, tmp_path, settings=saved)
    assert again.window.controls.two_way.isChecked()
    assert again.window.controls.other_language.currentData() == "de"


def test_with_two_way_on_nothing_overlaps_narrow_or_wide(qtbot, tmp_path) -> None:
    from test_ui_small_window import overlaps_and_cuts, settled
    from ui_support import build_window, save_screenshot

    parts = build_window(qtbot, tmp_path, settings=Settings(source="en", two_way=True, other_language="de",
                                                            targets=("fr",)))
    w = parts.window
    w.show()
    qtbot.waitExposed(w)
    for width in (640, 1180):
        w.resize(width, 720)
        qtbot.waitUntil(lambda: settled(w), timeout=3000)
        assert overlaps_and_cuts(w) == [], width
        assert not w.controls.other_language.isHidden() and w.controls.other_language.currentText() == "German"
        save_screenshot(w, f"window-two-way-{width}.png")


@pytest.mark.realtime
@pytest.mark.e2e
@pytest.mark.microphone
@pytest.mark.timeout(90)
def test_the_window_picks_system_audio_and_runs_a_two_way_session_on_the_real_pipeline(
        qtbot, tmp_path, virtual_mic) -> None:
    from test_ui_pipeline import cells
    from ui_support import build_window

    from app.workers.controller import pipeline_session_factory
    from app.workers.threads import DeviceMonitor

    monitor = DeviceMonitor(interval_s=0.5)  # the real PyAudio listing
    try:
        with FakeStreamingServer(api_key=KEY, script=MINE, model_scripts={MULTILINGUAL: THEIRS}) as stt, \
                FakeLlmGateway(api_key=KEY) as llm:
            settings = Settings(targets=("fr",), source="en", streaming_url=stt.url, llm_url=llm.base_url,
                                sessions_dir=tmp_path / "sessions")
            parts = build_window(qtbot, tmp_path, key=KEY, settings=settings,
                                 factory=pipeline_session_factory(None), input_file=None)
            w = parts.window
            monitor.devices_changed.connect(w.controls.set_devices)
            with qtbot.waitSignal(monitor.devices_changed, timeout=20000):
                monitor.start()
            assert "Virtual Speakers — what you hear" in w.controls.system_audio_names()
            monitor.pause(True)
            w.controls.two_way.setChecked(True)
            w.controls.other_language.setCurrentIndex(w.controls.other_language.findData("de"))
            assert w.model.languages == ("en", "de", "fr"), "your language, theirs, the extra"
            w.resize(1180, 720)
            w.show()
            with qtbot.waitSignal(parts.controller.session_started, timeout=20000):
                w.toggle_recording()
            virtual_mic.play(make_speech_wav(tmp_path / "me.wav", MINE[:1]))
            virtual_mic.play_system(make_speech_wav(tmp_path / "them.wav", THEIRS[:1], voice="de"))
            qtbot.waitUntil(lambda: w.model.turn_count() == 2, timeout=20000)
            with qtbot.waitSignal(parts.controller.session_ended, timeout=30000) as ended:
                w.toggle_recording()
    finally:
        monitor.stop()
        monitor.wait(5000)
    summary = ended.args[0]
    assert summary.error is None and summary.turns == 2
    assert cells(w, 1) == ["You", "Them"], "the side of each turn, from the session's start"
    assert cells(w, w.model.original_column) == [MINE[0], THEIRS[0]]
    assert cells(w, w.model.language_column("de")) == [f"[German] {MINE[0]}", THEIRS[0]]
    assert (summary.folder / "audio-system.wav").is_file()


@pytest.mark.realtime
@pytest.mark.microphone
@pytest.mark.e2e
@pytest.mark.timeout(120, method="thread")
def test_kill_9_mid_two_way_session_is_recovered_with_each_turns_side_and_both_recordings(
        virtual_mic, tmp_path) -> None:
    from app.pipeline.recovery import recover_unfinished
    from app.store.db import SessionStore

    with FakeStreamingServer(api_key=KEY, script=MINE, model_scripts={MULTILINGUAL: THEIRS}) as stt, \
            FakeLlmGateway(api_key=KEY) as llm, start_two_way(virtual_mic, tmp_path, stt.url, llm.base_url) as proc:
        events = read_until(proc, lambda e: e.get("state") == "live")
        virtual_mic.play(make_speech_wav(tmp_path / "me.wav", MINE[:1]))
        virtual_mic.play_system(make_speech_wav(tmp_path / "them.wav", THEIRS[:1], voice="de"))
        events += read_until(proc, lambda e: e["event"] == "translation" and e["language"] == "en"
                             and e["text"].startswith("[English]"))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    folder = Path(next(e["folder"] for e in events if e["event"] == "session_started"))
    with SessionStore(tmp_path / "home" / "data" / "live-translate" / "sessions.db") as store:
        [recovered] = recover_unfinished(store)
        turns = store.load_transcript(recovered.session_id).turns()
    assert [(t.side, t.text) for t in turns] == [(MICROPHONE, MINE[0]), (SYSTEM_AUDIO, THEIRS[0])]
    for name in ("audio.wav", "audio-system.wav"):  # both headers repaired: playable
        with wave.open(str(folder / name)) as w:
            assert w.getnframes() / w.getframerate() > 2.0, name


def test_a_two_way_sessions_exports_name_both_sides_languages_and_models() -> None:
    from app.pipeline.two_way import both_sides

    names = {MICROPHONE: "You", SYSTEM_AUDIO: "Them"}
    assert both_sides(names, ("English", "universal-streaming-english"), ("German", "universal-streaming-multilingual")) \
        == ("English (You), German (Them)", "universal-streaming-english (You), universal-streaming-multilingual (Them)")
    assert both_sides(names, ("Spanish", "universal-streaming-multilingual"),
                      ("German", "universal-streaming-multilingual"))[1] == "universal-streaming-multilingual"
