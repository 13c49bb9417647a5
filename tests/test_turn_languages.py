"""Shown where it matters: the language the service heard in each turn (multilingual models) goes
with the turn, tells the translation prompt what it translates from, and a turn already in a target
language is not sent to the LLM for that language [protocol §3.2, §9.4]."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY, make_session, run_to_end
from support.speech import make_speech_wav

pytestmark = [pytest.mark.realtime, pytest.mark.timeout(90)]

SENTENCES = ["Buenos días a todos.", "Bonjour à tous.", "Good morning everyone."]


def test_each_turns_language_reaches_the_prompt_and_a_turn_in_a_target_language_is_not_translated(
        tmp_path: Path) -> None:
    speech = make_speech_wav(tmp_path / "speech.wav", SENTENCES, pause_s=1.0, lead_s=0.3)
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, script_languages=["es", "fr", "en"]) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech,
                                    targets=("es", "fr"), speech_model="universal-streaming-multilingual")
        summary = run_to_end(session, rec)
        asked = [r.json for r in llm.chat_requests]
    assert [t.language_code for t in rec.turns] == ["es", "fr", "en"]
    turns = session.transcript.turns()
    assert (turns[0].translations["es"].text, turns[0].translations["es"].model) == (SENTENCES[0], "original")
    assert (turns[1].translations["fr"].text, turns[1].translations["fr"].model) == (SENTENCES[1], "original")
    assert turns[0].translations["fr"].text == f"[French] {SENTENCES[0]}"
    prompts = [request["messages"][0]["content"] for request in asked]
    assert len(asked) == 3, "es→fr, fr→es, and en→es+fr in one request"
    assert any("live speech in Spanish" in p and "into French" in p for p in prompts)
    assert any("live speech in French" in p and "into Spanish" in p for p in prompts)
    assert any("live speech in English" in p for p in prompts)
    doc = json.loads((summary.folder / "transcript.json").read_text(encoding="utf-8"))
    assert [t["language_code"] for t in doc["turns"]] == ["es", "fr", "en"]
