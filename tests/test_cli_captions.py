"""The terminal's caption page: ``--share-captions``, ``--share-captions-lan``, ``--captions-port``.

The address (with its token) is printed once and is in the JSONL ``session_started`` event as
``captions_url``; the log file has it redacted; a viewer follows the whole session and is told
when it is over; a port that cannot be had is refused before anything is recorded.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import cli_env
from support.speech import make_speech_wav
from support.sse import EventReader, close_all

from app.core.event_log import EventLog
from app.terminal_captions import TerminalCaptions
from app.web.addresses import Scope
from app.web.server import CaptionServer

KEY = "captions-secret-key-123"
SENTENCES = ["Welcome to the town hall.", "The library opens in March."]


@pytest.fixture(autouse=True)
def readers_closed():  # type: ignore[no-untyped-def]
    yield
    close_all()


def run_cli(args: list[str], home: Path, *, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout,
                          env=cli_env(home, KEY), stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("args", "message"), [
    (["--captions-port", "9000", "--headless"], "--captions-port needs --share-captions"),
    (["--share-captions"], "work with --headless only"),
    (["--headless", "--share-captions", "--captions-port", "0"], "'0' is not a port number"),
    (["--headless", "--share-captions-lan", "--captions-port", "70000"], "'70000' is not a port number"),
])
def test_caption_options_that_cannot_work_are_refused_with_what_to_do(tmp_path: Path, args: list[str],
                                                                      message: str) -> None:
    result = run_cli(args, tmp_path)
    assert result.returncode == 2 and message in result.stderr


def test_a_captions_port_in_use_is_refused_before_anything_is_recorded(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    wav = make_speech_wav(tmp_path / "speech.wav", SENTENCES[:1])
    try:
        result = run_cli(["--headless", "--input", str(wav), "--share-captions", "--captions-port", str(port),
                          "--out", str(tmp_path / "sessions")], tmp_path)
    finally:
        taken.close()
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "--captions-port" in result.stderr
    assert not (tmp_path / "sessions").exists()


def test_the_terminal_announces_a_network_share_as_plain_http() -> None:
    server = CaptionServer(EventLog(), Scope.NETWORK, 0)
    server.bind()
    try:
        said = TerminalCaptions(server, server.event_log).announcement()
        assert said.startswith(f"Captions on this network: {server.url} (plain HTTP")
        assert server.obs_url in said
        code = TerminalCaptions(server, server.event_log).qr_code().splitlines()
        assert len(code) > 10 and len({len(line) for line in code}) == 1, "a square of text"
    finally:
        server.stop()
        assert server.wait(1)


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_headless_session_is_followed_on_the_caption_page_and_the_address_stays_out_of_the_log(
        tmp_path: Path) -> None:
    wav = make_speech_wav(tmp_path / "speech.wav", SENTENCES)
    home = tmp_path / "home"
    with FakeStreamingServer(api_key=KEY, script=SENTENCES) as stt, FakeLlmGateway(api_key=KEY) as llm:
        argv = [sys.executable, "-m", "app", "--headless", "--input", str(wav), "--jsonl", "--share-captions",
                "--to", "es", "--to", "de", "--streaming-url", stt.url, "--llm-url", llm.base_url,
                "--out", str(tmp_path / "sessions")]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=cli_env(home, KEY), stdin=subprocess.DEVNULL) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            started = next(e for line in proc.stdout if (e := json.loads(line))["event"] == "session_started")
            url = started["captions_url"]
            assert url.startswith("http://127.0.0.1:") and "/c/" in url
            viewer = EventReader(url + "events", timeout_s=60)
            received = viewer.until("session_ended")
            closed = viewer.until("closed")[-1]
            rest = proc.stdout.read()
            stderr = proc.stderr.read()
            assert proc.wait(60) == 0, stderr
    token = url.split("/c/")[1].strip("/")
    turns = [e.data["text"] for e in received if e.kind == "turn"]
    assert turns == SENTENCES
    for code, name in (("es", "Spanish"), ("de", "German")):
        mine = [e.data["text"] for e in received if e.kind == "translation" and e.data["language"] == code]
        assert mine == [f"[{name}] {s}" for s in SENTENCES]
    assert closed.data["message"] == "The session is over and sharing has stopped."
    assert stderr.count("Captions on this computer: ") == 1 and f"Captions on this computer: {url} " in stderr
    stream = json.dumps([e.data for e in received])
    assert KEY not in stream and str(tmp_path) not in stream and "audio.wav" not in stream
    log_text = "".join(p.read_text() for p in home.rglob("*.log"))
    assert "captions page shared at http://127.0.0.1:" in log_text and "[redacted]" in log_text
    assert token not in log_text and KEY not in log_text
    assert token not in "".join(p.read_text(errors="replace") for p in (tmp_path / "sessions").rglob("*.*")
                                if p.suffix != ".wav")
    assert '"event": "session_ended"' in rest
