"""Who said what in the room: speaker labels asked of the models that give them, read from each
turn, re-labelled by ``SpeakerRevision`` (even just before ``Termination``) in the transcript, the
journal, the exports and the listener [protocol §1.4, §9.6]."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer
from session_rig import KEY, make_session, run_to_end
from support.speech import make_speech_wav

from app.cli import TerminalListener, build_parser, settings_from_args
from app.core.errors import ConfigError
from app.core.settings import Settings
from app.core.transcript import Turn
from app.core.turn_events import SpeakerRevised, TurnFinalized
from app.core.validate import validate
from app.store.db import SessionStore
from app.stt.assemblyai import streaming_params
from app.stt.protocol import SpeakerRevision, TurnMessage, parse_message
from app.stt.turns import TurnAssembler

SENTENCES = ["Good morning, I will chair today.", "Thank you, I have the figures ready.",
             "Then let us begin with those."]


def final(order: int, text: str, speaker: str | None = "A") -> TurnMessage:
    return TurnMessage(turn_order=order, end_of_turn=True, turn_is_formatted=True, transcript=text,
                       speaker_label=speaker)


def test_speakers_are_asked_only_of_the_models_that_label_them() -> None:
    on = Settings(speakers=True, max_speakers=3)
    query = streaming_params(validate(on)).query()
    assert (query["speaker_labels"], query["max_speakers"]) == ("true", "3")
    assert "max_speakers" not in streaming_params(validate(on.with_changes(max_speakers=None))).query()
    assert "speaker_labels" not in streaming_params(validate(Settings())).query()
    whisper = validate(on.with_changes(speech_model="whisper-rt"))
    assert "speaker_labels" not in streaming_params(whisper).query()
    assert "Speakers are not labelled: whisper-rt does not tell speakers apart." in whisper.unused
    with pytest.raises(ConfigError, match="number of speakers must be between 1 and 10, not 11"):
        validate(on.with_changes(max_speakers=11))


def test_the_command_line_switches_speakers_on_with_or_without_a_count() -> None:
    def parsed(*argv: str) -> Settings:
        return settings_from_args(build_parser().parse_args(list(argv)), Settings())

    assert (parsed("--speakers").speakers, parsed("--speakers").max_speakers) == (True, None)
    assert (parsed("--speakers", "4").speakers, parsed("--speakers", "4").max_speakers) == (True, 4)
    assert not parsed().speakers
    with pytest.raises(ConfigError, match="between 1 and 10, not 0"):
        parsed("--speakers", "0")


def test_a_revision_is_read_tolerantly() -> None:
    message = parse_message(json.dumps({"type": "SpeakerRevision", "revisions": [
        {"turn_order": 0, "speaker_label": "B", "words": []}, {"turn_order": "x", "speaker_label": "C"},
        {"turn_order": 2}, "junk", {"turn_order": 3, "speaker_label": "A"}]}))
    assert message == SpeakerRevision(((0, "B"), (3, "A")))
    assert parse_message('{"type": "SpeakerRevision", "turn_order": 1, "speaker_label": "C"}') == \
        SpeakerRevision(((1, "C"),))


def test_the_turn_rules_relabel_a_final_turn_and_label_one_still_held() -> None:
    rules = TurnAssembler(format_turns=True)
    [_, done] = rules.on_message(final(0, "Good morning."))
    assert isinstance(done, TurnFinalized) and done.turn.speaker == "A"
    held = TurnMessage(turn_order=1, end_of_turn=True, turn_is_formatted=False, transcript="thank you",
                       speaker_label="A")
    rules.on_message(held)  # waits for its formatted copy
    assert rules.receive(SpeakerRevision(((0, "B"), (1, "C"), (7, "D")))) == [SpeakerRevised(0, 0, "B")]
    released = [e for e in rules.flush() if isinstance(e, TurnFinalized)]
    assert [e.turn.speaker for e in released] == ["C"], "the revision reached the turn it came before"


def test_the_terminal_prints_speakers_and_says_when_one_changed_after_printing() -> None:
    out, err = io.StringIO(), io.StringIO()
    listener = TerminalListener([], jsonl=False, out=out, err=err)
    turn = Turn(index=0, segment=0, turn_order=0, text="Good morning.", start_ms=3000, end_ms=4000,
                finalized_at=0.0, speaker="A")
    listener.turn_finalized(turn)
    listener.turn_revised(Turn(**{**turn.__dict__, "speaker": "B"}))
    assert out.getvalue().splitlines() == ["[00:00:03] A: Good morning.", "[00:00:03] (said by B)"]
    lines = io.StringIO()
    jsonl = TerminalListener([], jsonl=True, out=lines, err=err)
    jsonl.turn_finalized(turn)
    jsonl.turn_revised(Turn(**{**turn.__dict__, "speaker": "B"}))
    events = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [(e["event"], e["speaker"]) for e in events] == [("turn", "A"), ("speaker", "B")]


@pytest.mark.realtime
@pytest.mark.timeout(90)
def test_a_session_keeps_each_turns_speaker_and_a_late_revision_everywhere(tmp_path: Path) -> None:
    speech = make_speech_wav(tmp_path / "speech.wav", SENTENCES, pause_s=1.0, lead_s=0.3)
    with FakeStreamingServer(api_key=KEY, script=SENTENCES, script_speakers="ABA", speaker_revisions={2: "C"}) as stt, \
            FakeLlmGateway(api_key=KEY) as llm:
        store = SessionStore(tmp_path / "journal.db")
        session, rec = make_session(tmp_path, stt_url=stt.url, llm_url=llm.base_url, input_wav=speech, store=store,
                                    speakers=True, max_speakers=3)
        summary = run_to_end(session, rec)
        journal = store.load_transcript(session.session_id or 0)
        store.close()
        asked = stt.connections[0].params
    assert (asked["speaker_labels"], asked["max_speakers"]) == (True, 3)
    assert [t.speaker for t in rec.turns] == ["A", "B", "A"], "as each turn was final"
    assert [(t.index, t.speaker) for t in rec.revised] == [(2, "C")], "the revision before Termination"
    assert [t.speaker for t in session.transcript.turns()] == ["A", "B", "C"]
    assert [t.speaker for t in journal.turns()] == ["A", "B", "C"]
    doc = json.loads((summary.folder / "transcript.json").read_text(encoding="utf-8"))
    assert [t["speaker"] for t in doc["turns"]] == ["A", "B", "C"]
