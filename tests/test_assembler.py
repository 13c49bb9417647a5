"""Turn assembly: one final per turn_order in both formatting behaviours; interim text from words."""
from __future__ import annotations

from app.core.turn_events import InterimChanged, TurnFinalized
from app.stt.protocol import TurnMessage, WireWord
from app.stt.turns import TurnAssembler


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def words(*spec: tuple[str, int, bool]) -> tuple[WireWord, ...]:
    return tuple(WireWord(text, start, start + 200, 0.9, final) for text, start, final in spec)


def partial(order: int, final_words: list[str], tail: str | None) -> TurnMessage:
    spec = [(w, i * 300, True) for i, w in enumerate(final_words)]
    if tail is not None:
        spec.append((tail, len(final_words) * 300, False))
    return TurnMessage(turn_order=order, end_of_turn=False, turn_is_formatted=False,
                       transcript=" ".join(final_words), words=words(*spec))


def eot(order: int, text: str, *, formatted: bool, start: int = 0) -> TurnMessage:
    spec = [(w, start + i * 300, True) for i, w in enumerate(text.split())]
    return TurnMessage(turn_order=order, end_of_turn=True, turn_is_formatted=formatted, transcript=text,
                       utterance="" if formatted else text, words=words(*spec))


def finals(events: list) -> list:
    return [e.turn for e in events if isinstance(e, TurnFinalized)]


def test_interim_text_comes_from_words_even_when_transcript_is_empty() -> None:
    asm = TurnAssembler(format_turns=True)
    [event] = asm.on_message(partial(0, [], "hi"))
    assert isinstance(event, InterimChanged)
    assert event.text == "hi" and event.final_part == "" and event.tail == "hi"
    [event] = asm.on_message(partial(0, ["hi", "my"], "na"))
    assert event.text == "hi my na" and event.final_part == "hi my" and event.tail == "na"


def test_two_message_formatting_gives_exactly_one_final_with_the_formatted_text() -> None:
    asm = TurnAssembler(format_turns=True)
    events = asm.on_message(eot(0, "hi my name is sonny", formatted=False))
    assert finals(events) == []
    events = asm.on_message(eot(0, "Hi, my name is Sonny.", formatted=True))
    [turn] = finals(events)
    assert turn.text == "Hi, my name is Sonny." and turn.formatted and turn.index == 0
    # A repeat of either message never finalizes the turn again.
    assert finals(asm.on_message(eot(0, "Hi, my name is Sonny.", formatted=True))) == []
    assert asm.duplicates_ignored == 1


def test_inline_formatting_finalizes_on_the_single_end_of_turn() -> None:
    asm = TurnAssembler(format_turns=True)
    [turn] = finals(asm.on_message(eot(0, "Hi, my name is Sonny.", formatted=True)))
    assert turn.text == "Hi, my name is Sonny."


def test_without_format_turns_the_unformatted_final_is_taken_at_once() -> None:
    asm = TurnAssembler(format_turns=False)
    [turn] = finals(asm.on_message(eot(0, "hi there", formatted=False)))
    assert turn.text == "hi there" and not turn.formatted


def test_held_unformatted_final_is_released_when_the_next_turn_starts() -> None:
    asm = TurnAssembler(format_turns=True)
    asm.on_message(eot(0, "first turn", formatted=False))
    events = asm.on_message(partial(1, [], "sec"))
    [turn] = finals(events)
    assert turn.text == "first turn" and turn.turn_order == 0
    # The formatted copy arriving late is ignored: the turn was final already.
    assert finals(asm.on_message(eot(0, "First turn.", formatted=True))) == []


def test_held_unformatted_final_is_released_after_the_hold_timeout() -> None:
    clock = FakeClock()
    asm = TurnAssembler(format_turns=True, hold_timeout_s=1.5, clock=clock)
    asm.on_message(eot(0, "only one", formatted=False))
    clock.now += 1.4
    assert finals(asm.tick()) == []
    clock.now += 0.2
    [turn] = finals(asm.tick())
    assert turn.text == "only one"
    assert finals(asm.tick()) == []


def test_held_final_is_released_on_flush() -> None:
    asm = TurnAssembler(format_turns=True)
    asm.on_message(eot(0, "last words", formatted=False))
    [turn] = finals(asm.flush())
    assert turn.text == "last words"
    assert finals(asm.flush()) == []


def test_turn_times_come_from_words_shifted_by_the_segment_offset() -> None:
    asm = TurnAssembler(format_turns=False)
    asm.start_segment(1, offset_ms=60_000)
    [turn] = finals(asm.on_message(eot(0, "one two three", formatted=False, start=1000)))
    assert (turn.start_ms, turn.end_ms) == (61_000, 61_800)
    assert turn.words[0].start_ms == 61_000 and turn.segment == 1


def test_turn_order_restarting_on_a_new_connection_is_a_new_turn() -> None:
    asm = TurnAssembler(format_turns=False)
    [a] = finals(asm.on_message(eot(0, "before the drop", formatted=False)))
    asm.start_segment(1, offset_ms=5000)
    [b] = finals(asm.on_message(eot(0, "after the drop", formatted=False)))
    assert (a.index, b.index) == (0, 1)
    assert a.key != b.key


def test_an_empty_final_clears_the_interim_and_makes_no_turn() -> None:
    asm = TurnAssembler(format_turns=False)
    events = asm.on_message(TurnMessage(turn_order=0, end_of_turn=True, turn_is_formatted=False, transcript=""))
    assert finals(events) == []
    assert [e.text for e in events if isinstance(e, InterimChanged)] == [""]


def test_each_final_clears_the_interim_line_first() -> None:
    asm = TurnAssembler(format_turns=False)
    events = asm.on_message(eot(0, "done", formatted=False))
    assert isinstance(events[0], InterimChanged) and events[0].text == ""
    assert isinstance(events[1], TurnFinalized)


# --- non-speech is not a turn [protocol §9.5] --------------------------------------------------------


def whisper_final(order: int, transcript: str, utterance: str, texts: tuple[str, ...]) -> TurnMessage:
    return TurnMessage(turn_order=order, end_of_turn=True, turn_is_formatted=False, transcript=transcript,
                       utterance=utterance, words=words(*[(t, 6300 + i * 40, True) for i, t in enumerate(texts)]))


def test_whisper_silence_and_music_finals_are_not_turns() -> None:
    asm = TurnAssembler(format_turns=False)
    events = asm.on_message(whisper_final(1, " silence  silence", "[ Silence] [ Silence]", ("", "silence")))
    events += asm.on_message(whisper_final(2, " music", "[Music]", ("", "music")))
    events += asm.on_message(whisper_final(3, " música", "[Música]", ("", "música")))
    assert finals(events) == [] and asm.non_speech_ignored == 3
    assert [e.text for e in events if isinstance(e, InterimChanged)] == ["", "", ""], "each clears the live line"
    [turn] = finals(asm.on_message(eot(4, "buenos días", formatted=False)))
    assert turn.index == 0 and turn.text == "buenos días", "real speech after them is the first turn"


def test_a_non_speech_turn_is_recognised_by_an_utterance_from_an_earlier_message_of_the_turn() -> None:
    asm = TurnAssembler(format_turns=True, clock=FakeClock())
    early = TurnMessage(turn_order=0, end_of_turn=False, turn_is_formatted=False, transcript=" music",
                        utterance="[Music]", words=words(("music", 0, True)))
    asm.on_message(early)
    held = asm.on_message(whisper_final(0, " music", "", ("", "music")))
    copy = TurnMessage(turn_order=0, end_of_turn=True, turn_is_formatted=True, transcript="Music.", utterance="")
    assert finals(held + asm.on_message(copy) + asm.flush()) == []


def test_tags_stay_out_of_the_live_line_and_out_of_a_spoken_turn() -> None:
    asm = TurnAssembler(format_turns=False)
    [live] = asm.on_message(partial(0, ["hello", "[Music]"], "there"))
    assert live.text == "hello there" and live.final_part == "hello"
    [_, done] = asm.on_message(eot(0, "hello [Music] there", formatted=False))
    assert done.turn.text == "hello there" and [w.text for w in done.turn.words] == ["hello", "there"]
