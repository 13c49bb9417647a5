"""Exports parse as their formats, keep turn order and times, and carry translations and gaps."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.core.exports import (
    Content,
    ExportOptions,
    clock,
    render,
    to_json,
    to_markdown,
    to_srt,
    to_txt,
    to_vtt,
    write_session_exports,
)
from app.core.transcript import Gap, Transcript, Translation, TranslationStatus, Turn


def sample() -> Transcript:
    t = Transcript()
    t.add_turn(Turn(0, 0, 0, "Hi, my name is Sonny.", 1920, 3840, 1.0))
    t.add_turn(Turn(1, 0, 1, "A | pipe --> arrow", 5000, 6500, 2.0))
    t.add_turn(Turn(2, 1, 0, "After the gap.", 20_000, 21_000, 3.0))
    t.add_gap(Gap(7000, 19_500, "connection lost"))
    t.set_translation(0, Translation("es", "Hola, me llamo Sonny.", TranslationStatus.DONE, "m", 420))
    t.set_translation(0, Translation("de", "Hallo, ich heiße Sonny.", TranslationStatus.DONE, "m", 380))
    t.set_translation(1, Translation("es", "Una | tubería", TranslationStatus.DONE, "m", 300))
    t.set_translation(1, Translation("de", "", TranslationStatus.FAILED, "m", None, "rate limited"))
    return t


SRT_CUE = re.compile(r"^(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n((?:.+\n?)+)$")


def parse_srt(text: str) -> list[tuple[int, str, str, list[str]]]:
    cues = []
    for block in text.strip().split("\n\n"):
        m = SRT_CUE.match(block)
        assert m, f"not an SRT cue: {block!r}"
        cues.append((int(m[1]), m[2], m[3], m[4].strip().split("\n")))
    return cues


def test_clock_formats() -> None:
    assert clock(3_723_456, ",") == "01:02:03,456"
    assert clock(59_999, ".") == "00:00:59.999"
    assert clock(61_000, "", hours=False) == "01:01"


def test_bilingual_srt_has_one_cue_per_entry_with_the_original_and_one_translation_each_labelled() -> None:
    cues = parse_srt(to_srt(sample().entries(), ExportOptions(Content.BILINGUAL, ("es",), metadata={
        "speech_model": "universal-streaming-english"})))
    assert [c[0] for c in cues] == [1, 2, 3, 4]
    assert cues[0][1:3] == ("00:00:01,920", "00:00:03,840")
    assert cues[0][3] == ["[en] Hi, my name is Sonny.", "[es] Hola, me llamo Sonny."]
    assert cues[1][3] == ["[en] A | pipe -> arrow", "[es] Una | tubería"]
    assert cues[2][3] == ["[no transcript, audio kept]"]
    assert cues[2][1:3] == ("00:00:07,000", "00:00:19,500")
    unknown = parse_srt(to_srt(sample().entries(), ExportOptions(Content.BILINGUAL, ("de",))))
    assert unknown[1][3] == ["[original] A | pipe -> arrow", "[de] [not translated]"]
    with pytest.raises(ValueError, match="at most two languages"):
        to_srt(sample().entries(), ExportOptions(Content.BILINGUAL, ("es", "de")))


def test_bilingual_subtitles_with_several_translations_are_one_file_per_translation(tmp_path: Path) -> None:
    from app.core.exports import export_files
    from app.pipeline.export_files import ExportJob, planned_files, run_export

    opts = ExportOptions(Content.BILINGUAL, ("es", "de"), metadata={"source_code": "en"})
    plan = export_files("vtt", opts, tmp_path / "talk.vtt")
    assert [(p.name, o.languages) for p, o in plan] == [("talk.es.vtt", ("es",)), ("talk.de.vtt", ("de",))]
    assert export_files("txt", opts, tmp_path / "talk.txt") == [(tmp_path / "talk.txt", opts)]
    job = ExportJob(sample().entries(), "srt", opts, tmp_path / "talk.srt")
    assert planned_files(job) == [tmp_path / "talk.es.srt", tmp_path / "talk.de.srt"]
    assert run_export(job) == planned_files(job)
    assert parse_srt((tmp_path / "talk.de.srt").read_text())[0][3] == ["[en] Hi, my name is Sonny.",
                                                                        "[de] Hallo, ich heiße Sonny."]


def test_translation_only_srt_uses_the_one_language() -> None:
    cues = parse_srt(to_srt(sample().entries(), ExportOptions(Content.TRANSLATION, ("es",))))
    assert cues[0][3] == ["Hola, me llamo Sonny."]


def test_vtt_starts_with_the_header_and_uses_dots() -> None:
    text = to_vtt(sample().entries(), ExportOptions(Content.ORIGINAL))
    assert text.startswith("WEBVTT\n\n")
    blocks = text.split("\n\n")[1:]
    assert re.match(r"00:00:01\.920 --> 00:00:03\.840\nHi, my name is Sonny\.", blocks[0])
    assert all("-->" not in line for b in blocks for line in b.split("\n")[1:])


def test_json_round_trips_every_field() -> None:
    doc = json.loads(to_json(sample().entries(), ExportOptions(Content.BILINGUAL, ("es", "de"), metadata={"title": "T"})))
    assert doc["format"] == "live-translate-transcript" and doc["session"] == {"title": "T"}
    assert [t["index"] for t in doc["turns"]] == [0, 1, 2]
    assert doc["turns"][0]["translations"]["es"] == {"text": "Hola, me llamo Sonny.", "status": "done",
                                                    "model": "m", "latency_ms": 420}
    assert doc["turns"][1]["translations"]["de"]["status"] == "failed"
    assert doc["turns"][1]["translations"]["de"]["error"] == "rate limited"
    assert doc["gaps"] == [{"start_ms": 7000, "end_ms": 19500, "reason": "connection lost"}]


def test_markdown_is_a_table_with_a_column_per_language_and_escaped_pipes() -> None:
    text = to_markdown(sample().entries(), ExportOptions(Content.BILINGUAL, ("es", "de"), metadata={"title": "Talk"}))
    lines = text.splitlines()
    assert lines[0] == "# Talk"
    header = next(i for i, line in enumerate(lines) if line.startswith("| Time"))
    assert lines[header] == "| Time | Original | Spanish | German |"
    rows = lines[header + 2:]
    assert len(rows) == 4
    cells = [re.split(r"(?<!\\)\|", r)[1:-1] for r in rows]
    assert all(len(c) == 4 for c in cells)
    assert "A \\| pipe --> arrow" in rows[1]


def test_txt_indents_translations_under_the_timestamped_original() -> None:
    text = to_txt(sample().entries(), ExportOptions(Content.BILINGUAL, ("es",)))
    assert text.splitlines()[:2] == ["[00:00:01] Hi, my name is Sonny.", "           [es] Hola, me llamo Sonny."]
    assert "[00:00:07–00:00:19] [no transcript, audio kept]" in text
    plain = to_txt(sample().entries(), ExportOptions(Content.ORIGINAL, timestamps=False))
    assert plain.splitlines()[0] == "Hi, my name is Sonny."


def test_unknown_format_and_missing_language_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        render("docx", [], ExportOptions())
    with pytest.raises(ValueError, match="needs a target language"):
        ExportOptions(Content.TRANSLATION)


def test_session_exports_write_every_format_and_a_subtitle_per_language(tmp_path: Path) -> None:
    written = write_session_exports(tmp_path, sample().entries(), ["es", "de"], {"title": "x"})
    names = sorted(p.name for p in written)
    assert names == sorted(["transcript.txt", "transcript.srt", "transcript.vtt", "transcript.json",
                            "transcript.md", "transcript.es.srt", "transcript.de.srt"])
    assert parse_srt((tmp_path / "transcript.de.srt").read_text())[0][3] == ["Hallo, ich heiße Sonny."]
    assert parse_srt((tmp_path / "transcript.srt").read_text())[0][3] == ["Hi, my name is Sonny."], \
        "with several translations the session's subtitles are the original; each translation has its own"
    json.loads((tmp_path / "transcript.json").read_text())
    one = tmp_path / "one"
    one.mkdir()
    write_session_exports(one, sample().entries(), ["es"], {"source_code": "en"})
    assert parse_srt((one / "transcript.srt").read_text())[0][3] == ["[en] Hi, my name is Sonny.",
                                                                      "[es] Hola, me llamo Sonny."]


def test_empty_transcript_exports_are_valid() -> None:
    opts = ExportOptions(Content.BILINGUAL, ("es",))
    assert to_srt([], opts) == "" and to_vtt([], opts) == "WEBVTT\n\n" and to_txt([], opts) == ""
    assert json.loads(to_json([], opts))["turns"] == []


def test_markdown_names_an_unknown_language_code_by_the_code_itself() -> None:
    t = Transcript()
    t.add_turn(Turn(0, 0, 0, "Hello.", 0, 900, 1.0))
    t.set_translation(0, Translation("tlh", "nuqneH.", TranslationStatus.DONE, "m", 100))
    text = to_markdown(t.entries(), ExportOptions(Content.TRANSLATION, ("tlh",)))
    assert "| Time | tlh |" in text and "nuqneH." in text
