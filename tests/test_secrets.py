"""The API key never appears in logs, exports, the archive, settings files, URLs, printed output or
``ps`` output. A real headless session with faults (a drop, a failing LLM) writes all it can; then
every file under its home and sessions folders is searched for the key."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer, Fault
from session_rig import cli_env
from support.speech import make_speech_wav

pytestmark = pytest.mark.realtime  # sessions at real time (the fast tier leaves them out)

KEY = "sk-live-SECRET-7f3a9c2e51b84d06"
SENTENCES = ["Please keep this secret.", "It must never be written down."]


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_key_is_in_no_file_url_log_output_or_command_line(tmp_path: Path) -> None:
    speech = make_speech_wav(tmp_path / "speech.wav", SENTENCES, pause_s=1.0)
    home = tmp_path / "home"
    env = {**cli_env(home, KEY), "XDG_CACHE_HOME": str(home / "cache")}
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, faults=[Fault(drop_after_s=2.0)]) as stt, \
            FakeLlmGateway(api_key=KEY, fail_first=2, fail_status=500) as llm:
        with subprocess.Popen(
            [sys.executable, "-m", "app", "--headless", "--input", str(speech), "--jsonl",
             "--streaming-url", stt.url, "--llm-url", llm.base_url, "--out", str(tmp_path / "sessions")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, stdin=subprocess.DEVNULL,
        ) as proc:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()  # what `ps` shows
            stdout, stderr = proc.communicate(timeout=90)
        connections = list(stt.connections)
        llm_requests = list(llm.requests)
    assert proc.returncode == 0, stderr.decode()
    secret = KEY.encode()
    assert secret not in cmdline
    assert secret not in stdout and secret not in stderr
    assert len(connections) == 2  # the drop made it reconnect: more code paths wrote more
    for conn in connections:
        assert KEY not in conn.path and conn.headers["Authorization"] == KEY
    for request in llm_requests:
        assert KEY not in request.path
    files = [p for root in (home, tmp_path / "sessions") for p in root.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"audio.wav", "transcript.json", "sessions.db", "live-translate.log"} <= names, names
    leaked = [p for p in files if secret in p.read_bytes()]
    assert leaked == []
