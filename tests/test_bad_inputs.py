"""The bad-input catalogue: every bad input gets a clear message a person can act on, and nothing
recorded is lost. Command-line flags and settings fail before anything is recorded (and leave no
half-made session behind); bad server messages and LLM replies are survived mid-session with the
WAV intact.

Catalogue (42 cases; more in the unit tests named at the end):
 CLI flags / settings (exit code, message)      1-20
 input files (--input)                           21-29
 server messages during a session                30-37
 LLM Gateway replies during a session            38-42
"""
from __future__ import annotations

import json
import logging
import os
import struct
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY, make_session, pcm_frames, run_to_end
from support.speech import make_speech_wav, make_tone_wav

from app.cli import main as cli_main
from app.core.backoff import Backoff
from app.core.transcript import TranslationStatus

SENTENCES = ["Hello there.", "This is a test."]


def run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, *, key: str | None = KEY) -> tuple[int, str]:
    if key is not None:
        monkeypatch.setenv("ASSEMBLYAI_API_KEY", key)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    code = cli_main(["--headless", "--out", str(tmp_path / "sessions"), *argv])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech_wav(tmp_path_factory.mktemp("speech") / "s.wav", SENTENCES, pause_s=1.0)


# --- 1-20: flags and settings: clear message, non-zero exit, nothing started -----------------

FLAG_CASES = [
    # (id, argv, exit code, words the message must contain)
    ("unknown-target-language", ["--to", "Klingonese"], 2, "Unknown language 'Klingonese'"),
    ("misspelled-language-suggests", ["--to", "Germn"], 2, "Did you mean German (de)"),
    ("unknown-source-language", ["--from", "Elvish"], 2, "Unknown language 'Elvish'"),
    ("english-model-with-french-source", ["--from", "fr", "--speech-model", "universal-streaming-english"], 2,
     "only hears English"),
    ("http-streaming-url", ["--streaming-url", "http://example.invalid/v3/ws"], 2, "not a websocket URL"),
    ("streaming-url-without-host", ["--streaming-url", "wss://"], 2, "not a websocket URL"),
    ("streaming-url-with-query", ["--streaming-url", "wss://h.invalid/v3/ws?token=x"], 2, "without a query"),
    ("ftp-llm-url", ["--llm-url", "ftp://h.invalid/v1"], 2, "LLM"),
    ("llm-url-not-a-url", ["--llm-url", "not a url"], 2, "LLM"),
    ("keyterm-too-long", ["--keyterm", "x" * 51], 2, "at most 50 characters"),
    ("too-many-keyterms", [a for i in range(101) for a in ("--keyterm", f"t{i}")], 2, "At most 100 key terms"),
    ("out-is-a-file", ["--out", "__FILE__"], 5, "Cannot create the sessions folder"),
    ("out-is-empty", ["--out", ""], 2, '--out needs a folder: "" is not one'),
    ("streaming-url-with-credentials", ["--streaming-url", "wss://me:s3cret-pw@h.invalid/v3/ws"], 2,
     "without a user name or password"),
    ("streaming-port-out-of-range", ["--streaming-url", "ws://127.0.0.1:70000/v3/ws"], 2, "invalid port number"),
    ("llm-url-with-credentials", ["--llm-url", "https://me:s3cret-pw@h.invalid/v1"], 2,
     "without a user name or password"),
]


@pytest.mark.parametrize(("case_id", "argv", "code", "words"), FLAG_CASES, ids=[c[0] for c in FLAG_CASES])
def test_bad_flags_fail_before_recording_with_a_clear_message(
    case_id: str, argv: list[str], code: int, words: str, speech: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    argv = [str(blocker / "sub") if a == "__FILE__" else a for a in argv]
    got, err = run(["--input", str(speech), *argv], capsys, monkeypatch, tmp_path)  # a later --out wins
    assert got == code, err
    assert words in err and err.startswith("error: ")
    assert "Traceback" not in err
    assert not (tmp_path / "sessions").exists() or not any((tmp_path / "sessions").iterdir())


def test_no_api_key_says_where_to_put_one(speech: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = run(["--input", str(speech)], capsys, monkeypatch, tmp_path, key=None)
    assert code == 2 and "ASSEMBLYAI_API_KEY" in err and "Settings" in err


def test_blank_api_key_counts_as_none(speech: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = run(["--input", str(speech)], capsys, monkeypatch, tmp_path, key="   ")
    assert code == 2 and "No AssemblyAI API key" in err


@pytest.mark.parametrize(("argv", "words"), [
    (["--speech-model", "best-model"], "invalid choice: 'best-model'"),
    (["--turn-detection", "eager"], "invalid choice: 'eager'"),
    (["--region", "mars"], "invalid choice: 'mars'"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_unknown_option_values_are_refused_by_the_parser(argv: list[str], words: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["--headless", *argv])
    assert exc.value.code == 2 and words in capsys.readouterr().err


def test_jsonl_without_headless_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--jsonl"]) == 2
    assert "--jsonl and --input work with --headless only" in capsys.readouterr().err


@pytest.mark.realtime
def test_unreachable_streaming_url_records_anyway_and_says_nothing_was_transcribed(
    speech: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, err = run(["--input", str(speech), "--streaming-url", "ws://127.0.0.1:9/v3/ws",
                     "--llm-url", "http://127.0.0.1:9/v1"], capsys, monkeypatch, tmp_path)
    assert code == 9, err
    assert "refused the connection" in err and "Check the internet connection" in err
    assert "Recording anyway" in err and "Nothing was transcribed" in err
    [folder] = (tmp_path / "sessions").iterdir()
    assert pcm_frames(speech) == pcm_frames(folder / "audio.wav")


# --- 21-29: input files ------------------------------------------------------------------------

def _file_case(tmp: Path, name: str) -> Path:
    p = tmp / f"{name}.wav"
    if name == "missing":
        return p
    if name == "empty":
        p.write_bytes(b"")
    elif name == "text":
        p.write_text("these are meeting notes, not audio\n")
    elif name == "mp3":
        p.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64)
    elif name == "float":
        return make_tone_wav(p, bits=32, encoding="floating-point")
    elif name == "adpcm":
        return make_tone_wav(p, encoding="ima-adpcm")
    elif name == "no-frames":
        header = b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
        p.write_bytes(header + b"data" + struct.pack("<I", 0))
    elif name == "truncated-header":
        p.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfm")
    elif name == "folder":
        p.mkdir()
    elif name == "fifo":
        os.mkfifo(p)  # opening it for reading would wait for a writer forever
    elif name == "device":
        return Path("/dev/zero")
    elif name in ("frame-size-lies", "byte-rate-lies"):
        block_align, byte_rate = (4, 64000) if name == "frame-size-lies" else (2, 44100)
        fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, byte_rate, block_align, 16)
        pcm = bytes(32000)
        p.write_bytes(b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + fmt + b"data"
                      + struct.pack("<I", len(pcm)) + pcm)
    return p


FILE_CASES = [
    ("missing", "does not exist"), ("empty", "is empty (0 bytes)"), ("text", "is a text file"),
    ("mp3", "MP3"), ("float", "floating-point"), ("adpcm", "ADPCM"),
    ("no-frames", "contains no audio"), ("truncated-header", "damaged"), ("folder", "is a folder"),
    ("fifo", "is a named pipe (FIFO), not a recording saved in a file"), ("device", "is a device"),
    ("frame-size-lies", "header that contradicts itself: 1 channel(s) of 16-bit samples need 2 bytes per frame"),
    ("byte-rate-lies", "header that contradicts itself: 16000 Hz with 2 bytes per frame is 32000 bytes"),
]


@pytest.mark.parametrize(("name", "words"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unusable_input_files_exit_3_with_a_message_naming_the_file(
    name: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file_case(tmp_path, name)
    code, err = run(["--input", str(path)], capsys, monkeypatch, tmp_path)
    assert code == 3, err
    assert words in err and str(path) in err
    assert not (tmp_path / "sessions").exists() or not any((tmp_path / "sessions").iterdir())


# --- 30-37: server messages mid-session: ignored or reported, never fatal, WAV intact --------

SERVER_GARBAGE = [
    ("invalid-json", ["{not json"]),
    ("json-array", ["[1, 2, 3]"]),
    ("unknown-type", [json.dumps({"type": "Hologram", "payload": 1})]),
    ("turn-without-turn-order", [json.dumps({"type": "Turn", "transcript": "ghost", "end_of_turn": True})]),
    ("turn-with-bad-words", [json.dumps({"type": "Turn", "turn_order": 99, "end_of_turn": False,
                                         "words": "oops", "transcript": 5})]),
    ("huge-frame", [json.dumps({"type": "Warning", "warning_code": 1, "warning": "x" * 2_000_000})]),
    ("bare-error-object", [json.dumps({"error": "something odd happened"})]),
    ("unknown-fields-everywhere", [json.dumps({"type": "Begin", "id": "x", "expires_at": "soon", "new": [1]}),
                                   json.dumps({"type": "Heartbeat", "total_audio_received_ms": 5})]),
]


@pytest.mark.realtime
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("case_id", "frames"), SERVER_GARBAGE, ids=[c[0] for c in SERVER_GARBAGE])
def test_bad_server_messages_are_survived_and_the_session_goes_on(
    case_id: str, frames: list[str], speech: Path, tmp_path: Path
) -> None:
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, after_begin=frames) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        summary = run_to_end(session, rec)
    assert summary.error is None
    assert [t.text for t in session.transcript.turns()] == SENTENCES
    assert pcm_frames(summary.audio_path) == pcm_frames(speech)


# --- 38-42: LLM replies: the turn keeps its text, is marked, the session goes on --------------

LLM_CASES = [
    ("unsupported-model-400", {"models": {"some-other-model"}}, "does not support the model"),
    ("rejected-key-401", {"api_key": "another-key"}, "rejected the API key"),
    # A one-second window: the app waits for the window the 429's headers name before it asks again.
    ("rate-limited-429", {"fail_first": 99, "fail_status": 429, "fail_headers": {"Retry-After": "0"},
                          "rate_window_s": 1.0}, "rate limiting"),
    ("server-error-500", {"fail_first": 99, "fail_status": 500}, "server problem (500)"),
    ("malformed-body", {"malformed": True}, "malformed reply"),
]


@pytest.mark.realtime
@pytest.mark.timeout(90)
@pytest.mark.parametrize(("case_id", "options", "words"), LLM_CASES, ids=[c[0] for c in LLM_CASES])
def test_llm_failures_leave_turns_untranslated_and_marked_while_the_session_goes_on(
    case_id: str, options: dict, words: str, speech: Path, tmp_path: Path
) -> None:
    options = {"api_key": KEY, **options}
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(**options) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        session.translations.queue.backoff = Backoff(first_delay_s=0.01)  # keep the bounded retries quick
        summary = run_to_end(session, rec)
    assert summary.error is None and summary.turns == 2
    assert summary.translations_failed == 2
    turns = session.transcript.turns()
    assert [t.text for t in turns] == SENTENCES  # original text kept
    for turn in turns:
        tr = turn.translations["es"]
        assert tr.status is TranslationStatus.FAILED and words in tr.error
    assert "[not translated]" in (summary.folder / "transcript.txt").read_text()
    assert pcm_frames(summary.audio_path) == pcm_frames(speech)

# More bad inputs with their own tests: no microphone / unknown device / missing index
# (test_microphone.py), ENOSPC while writing (test_wav_writer.py, test_crash_and_disk.py), corrupt
# or newer session archive (test_store.py), out-of-range turn-detection values and inactivity
# timeout (test_stt_protocol.py), every LLM error status and Retry-After form
# (test_translate_gateway.py), corrupt saved settings (test_ui_settings.py).


# --- more inputs that are not what they claim --------------------------------------------------

@pytest.mark.parametrize("declared", [0, 1000, 0xFFFFFFFF], ids=["zero", "too-small", "streaming"])
def test_a_data_chunk_whose_size_is_wrong_is_read_to_the_end_of_the_audio(declared: int, tmp_path: Path) -> None:
    from app.audio.wav_source import WavFileSource

    pcm = pcm_frames(make_tone_wav(tmp_path / "tone.wav"))
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    lying = tmp_path / "lying.wav"
    lying.write_bytes(b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", declared) + pcm)
    source = WavFileSource(lying, realtime=False)
    source.open()
    read = b"".join(iter(source.read, None))
    source.close()
    assert read == pcm


def test_a_data_chunk_followed_by_another_chunk_keeps_its_declared_size(tmp_path: Path) -> None:
    from app.audio.wav_source import WavFileSource

    pcm = bytes(3200)
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    tagged = tmp_path / "tagged.wav"
    tagged.write_bytes(b"RIFF" + struct.pack("<I", 0) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", len(pcm))
                       + pcm + b"LIST" + struct.pack("<I", 4) + b"INFO")
    source = WavFileSource(tagged, realtime=False)
    source.open()
    assert source.info is not None and source.info.data_bytes == len(pcm)
    source.close()


@pytest.mark.parametrize(("tag", "code"), [("es-MX", "es"), ("en-US", "en"), ("fr_CA", "fr"), ("pt-BR", "pt-BR")])
def test_a_region_tag_maps_to_its_language(tag: str, code: str) -> None:
    from app.core.languages import resolve_language

    assert resolve_language(tag).code == code


@pytest.mark.parametrize(("status", "words"), [(414, "too many or too long key terms"),
                                               (431, "the API key is far too long")])
def test_http_414_and_431_at_the_handshake_name_their_real_cause(status: int, words: str) -> None:
    from app.stt.client import StreamingClient

    with FakeStreamingServer(api_key=KEY, reject_first=(1, status)) as stt:
        client = StreamingClient(stt.url + "?sample_rate=16000", KEY, on_message=lambda m: None)
        with pytest.raises(Exception, match=words) as info:
            client.connect()
    assert f"HTTP {status}" in str(info.value) and KEY not in str(info.value)


def test_credentials_inside_any_url_never_reach_the_log(tmp_path: Path) -> None:
    from app.logsetup import redactor, setup_logging

    log_file = setup_logging(tmp_path, console_level=None)
    logging.getLogger("app.test").warning("proxy https://alice:hunter2-secret@proxy.example:3128 failed; "
                                          "url wss://h.example/v3/ws?token=tok-123456789&x=1")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text()
    assert "hunter2-secret" not in text and "alice:" not in text and "tok-123456789" not in text
    assert "proxy.example:3128" in text, "the rest of the line is kept"
    assert redactor.redact("ws://u:p@h/x") == "ws://[redacted]@h/x"
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "baseFilename", None) == str(log_file):
            logging.getLogger().removeHandler(handler)
            handler.close()


@pytest.mark.parametrize(("env", "words"), [({}, "DISPLAY and WAYLAND_DISPLAY are not set"),
                                             ({"DISPLAY": ":97"}, "no X server is running on display :97")])
def test_the_window_without_a_display_says_how_to_run_in_the_terminal(
        env: dict[str, str], words: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli_main([]) == 2
    err = capsys.readouterr().err
    assert words in err and "live-translate --headless" in err and "Traceback" not in err


@pytest.mark.realtime
@pytest.mark.timeout(60)
def test_a_session_folder_deleted_mid_session_is_made_again_with_everything_recorded(
        speech: Path, tmp_path: Path) -> None:
    import shutil
    import threading

    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech)
        folder = session.prepare()
        session.start_threads()

        def delete_when_the_first_turn_is_in() -> None:
            while not rec.ended.is_set() and not rec.turns:
                rec.ended.wait(0.05)
            shutil.rmtree(folder)

        threading.Thread(target=delete_when_the_first_turn_is_in, daemon=True).start()
        assert rec.ended.wait(45)
    summary = rec.summary
    assert summary is not None and summary.folder == folder and folder.is_dir()
    assert pcm_frames(folder / "audio.wav") == pcm_frames(speech), "every byte was read back from the open file"
    assert json.loads((folder / "transcript.json").read_text())["turns"]
    [said] = [e for e in rec.errors if "was deleted during the session" in e.message]
    assert not said.fatal and "it was made again" in said.message
