"""Exports say who said each turn when the session has speakers or two sides, under the session's
names: VTT voice spans, an SRT / TXT "Name: " prefix, a Markdown "Who" column, JSON fields; a
session with neither carries nothing extra. Each output is parsed, not just searched."""
from __future__ import annotations

import json
import re
from pathlib import Path

from app.core.exports import Content, ExportOptions, render, write_session_exports
from app.core.transcript import MICROPHONE, SYSTEM_AUDIO, Gap, Transcript, Translation, TranslationStatus, Turn
from app.core.transcript_file import read_transcript_json
from app.core.who import NO_NAMES, Kind, Names, Shown, names_of, who


def turn(index: int, text: str, *, speaker: str | None = None, side: str = MICROPHONE, es: str = "") -> Turn:
    translations = {"es": Translation("es", es, TranslationStatus.DONE, "m", 500)} if es else {}
    return Turn(index=index, segment=0, turn_order=index, text=text, start_ms=index * 3000 + 1000,
                end_ms=index * 3000 + 2500, finalized_at=0.0, speaker=speaker, side=side, translations=translations)


def meeting() -> list[Turn | Gap]:
    t = Transcript()
    t.add_turn(turn(0, "Good morning <all> & welcome.", speaker="A", es="Buenos días."))
    t.add_turn(turn(1, "Thanks.", speaker="B", side=SYSTEM_AUDIO, es="Gracias."))
    t.add_turn(turn(2, "Let us start.", speaker="A", es="Empecemos."))
    t.add_gap(Gap(9000, 9500, "connection lost"))
    return t.entries()


NAMES = Names().renamed(Kind.SPEAKER, "A", "Ana").renamed(Kind.SIDE, SYSTEM_AUDIO, "Berlin office")


def opts(content: Content = Content.BILINGUAL, names: Names = NAMES, **metadata: object) -> ExportOptions:
    return ExportOptions(content, ("es",) if content is not Content.ORIGINAL else (), True,
                         {"names": names.to_json(), **metadata})


def vtt_cues(text: str) -> list[list[str]]:
    assert text.startswith("WEBVTT\n\n")
    blocks = [b.splitlines() for b in text[len("WEBVTT\n\n"):].strip().split("\n\n")]
    for block in blocks:
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", block[0])
    return [b[1:] for b in blocks]


def voices(line: str) -> tuple[str, str] | None:
    found = re.fullmatch(r"<v ([^>]+)>(.*)</v>", line)
    return (found.group(1), found.group(2)) if found else None


def md_table(text: str) -> list[dict[str, str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert set(rows[1]) <= {"|", "-"}
    return [dict(zip(header, (c.strip() for c in re.split(r"(?<!\\)\|", r.strip()[1:-1])), strict=True))
            for r in rows[2:]]


def test_the_names_and_what_is_shown() -> None:
    entries = [e for e in meeting() if isinstance(e, Turn)]
    shown = Shown.of(entries)
    assert (shown.sides, shown.speakers) == (True, True)
    assert [who(t, NAMES, shown) for t in entries] == ["You · Ana", "Berlin office · B", "You · Ana"]
    assert who(entries[1], NO_NAMES, Shown(sides=True)) == "Them"
    assert NAMES.renamed(Kind.SPEAKER, "A", "  ").speakers == {}, "blank is the default again"
    assert NAMES.renamed(Kind.SIDE, SYSTEM_AUDIO, "Them").sides == {}
    assert Names.from_json({"sides": {"system": "X", "elsewhere": "Y"}, "speakers": {"A": 3, "B": "Bo"}}) == \
        Names({"system": "X"}, {"B": "Bo"}), "read tolerantly"
    assert Names.from_json("junk") == NO_NAMES and names_of({}) == NO_NAMES


def test_vtt_has_a_voice_span_on_every_line_with_the_session_names() -> None:
    cues = vtt_cues(render("vtt", meeting(), opts()))
    assert [voices(line) for line in cues[0]] == [("You · Ana", "[original] Good morning &lt;all&gt; &amp; welcome."),
                                                  ("You · Ana", "[es] Buenos días.")]
    assert voices(cues[1][0]) == ("Berlin office · B", "[original] Thanks.")
    assert cues[3] == ["[no transcript, audio kept]"], "a gap has no voice"


def test_srt_and_txt_put_the_name_before_the_text() -> None:
    srt = render("srt", meeting(), opts(Content.TRANSLATION))
    blocks = [b.splitlines() for b in srt.strip().split("\n\n")]
    assert [b[2] for b in blocks[:3]] == ["You · Ana: Buenos días.", "Berlin office · B: Gracias.",
                                          "You · Ana: Empecemos."]
    txt = render("txt", meeting(), opts(Content.ORIGINAL))
    assert txt.splitlines()[:2] == ["[00:00:01] You · Ana: Good morning <all> & welcome.",
                                    "[00:00:04] Berlin office · B: Thanks."]


def test_markdown_has_a_who_column_and_json_the_fields_and_names() -> None:
    table = md_table(render("md", meeting(), opts()))
    assert list(table[0]) == ["Time", "Who", "Original", "Spanish"]
    assert [r["Who"] for r in table] == ["You · Ana", "Berlin office · B", "You · Ana", ""]
    assert table[3]["Original"] == "*[no transcript, audio kept]*"
    doc = json.loads(render("json", meeting(), opts()))
    assert [(t["speaker"], t["side"], t["speaker_name"], t["side_name"], t["who"]) for t in doc["turns"]] == [
        ("A", "microphone", "Ana", "You", "You · Ana"), ("B", "system", "B", "Berlin office", "Berlin office · B"),
        ("A", "microphone", "Ana", "You", "You · Ana")]
    assert names_of(doc["session"]) == NAMES, "the names travel with the session (an import reads them)"


def test_a_session_without_speakers_or_sides_carries_nothing_extra() -> None:
    t = Transcript()
    t.add_turn(turn(0, "Hello there.", es="Hola."))
    plain = t.entries()
    assert voices(vtt_cues(render("vtt", plain, opts()))[0][0]) is None
    assert list(md_table(render("md", plain, opts()))[0]) == ["Time", "Original", "Spanish"]
    assert "who" not in json.loads(render("json", plain, opts()))["turns"][0]
    assert render("txt", plain, opts(Content.ORIGINAL)) == "[00:00:01] Hello there.\n"


def test_sides_alone_show_you_and_them(tmp_path: Path) -> None:
    t = Transcript()
    t.add_turn(turn(0, "Can you hear me?"))
    t.add_turn(turn(1, "Yes, loud and clear.", side=SYSTEM_AUDIO))
    written = write_session_exports(tmp_path, t.entries(), ["es"], {"names": NO_NAMES.to_json()})
    assert {p.name for p in written} >= {"transcript.vtt", "transcript.srt", "transcript.md"}
    cues = vtt_cues((tmp_path / "transcript.vtt").read_text(encoding="utf-8"))
    assert [voices(c[0])[0] for c in cues if voices(c[0])] == ["You", "Them"]  # type: ignore[index]
    assert (tmp_path / "transcript.es.srt").read_text(encoding="utf-8").split("\n\n")[1].splitlines()[2] == \
        "Them: [not translated]"
    back = read_transcript_json((tmp_path / "transcript.json").read_text(encoding="utf-8"))
    assert [tr.side for tr in back.turns] == [MICROPHONE, SYSTEM_AUDIO]


def test_a_recovered_session_keeps_the_names_given_before_the_crash(tmp_path: Path) -> None:
    from app.pipeline.recovery import recover_unfinished
    from app.store.db import SessionStore

    store = SessionStore(tmp_path / "journal.db")
    folder = tmp_path / "sessions" / "s1"
    folder.mkdir(parents=True)
    (folder / "audio.wav").write_bytes(b"")
    rec = store.create_session(folder=folder, audio_path=folder / "audio.wav", source_language=None,
                               speech_model="universal-streaming-english", target_languages=["es"], llm_model="m")
    store.add_turn(rec.id, turn(0, "Hello.", speaker="A"))
    store.set_meta(rec.id, names=NAMES.to_json())  # what LiveSession.set_names journals
    store.release(rec.uid)  # the process that recorded it died
    assert [r.session_id for r in recover_unfinished(store)] == [rec.id]
    store.close()
    assert voices(vtt_cues((folder / "transcript.vtt").read_text(encoding="utf-8"))[0][0]) == ("Ana", "[en] Hello.")
