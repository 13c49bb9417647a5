"""The WAV-file source: clear messages for unusable files, correct conversion, real-time pacing."""
from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.speech import make_speech_wav, make_tone_wav, pcm_sine, zero_crossing_frequency

from app.audio.source import AudioSource
from app.audio.wav_source import WavFileSource
from app.audio.wav_writer import WavWriter
from app.core.errors import InputFileError
from app.core.level import rms_dbfs
from app.core.units import BYTES_PER_SECOND

SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Live translation starts now."]


@pytest.fixture
def open_source() -> Iterator[Callable[..., WavFileSource]]:
    """Open a WavFileSource that is closed after the test even if an assertion fails."""
    opened: list[WavFileSource] = []

    def open_(path: Path, **options: Any) -> WavFileSource:
        source = WavFileSource(path, **options)
        opened.append(source)
        source.open()
        return source

    yield open_
    for source in opened:
        source.close()


def read_all(source: WavFileSource) -> list[bytes]:
    blocks = []
    while (block := source.read()) is not None:
        blocks.append(block)
    return blocks


def converted(path: Path) -> bytes:
    source = WavFileSource(path, realtime=False)
    source.open()
    try:
        return b"".join(read_all(source))
    finally:
        source.close()


def wav_bytes(fmt: bytes, data: bytes, extra_chunks: bytes = b"") -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pcm_fmt(rate: int = 16000, channels: int = 1, bits: int = 16) -> bytes:
    align = channels * bits // 8
    return struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, bits)


# --- files that cannot be used: each gets a message naming the file and the way out ---------------


def missing(tmp_path: Path) -> Path:
    return tmp_path / "nowhere.wav"


def folder(tmp_path: Path) -> Path:
    path = tmp_path / "recordings.wav"
    path.mkdir()
    return path


def empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.wav"
    path.touch()
    return path


def text_named_wav(tmp_path: Path) -> Path:
    path = tmp_path / "notes.wav"
    path.write_text("Meeting notes: remember to bring the microphone.\n")
    return path


def mp3_named_wav(tmp_path: Path) -> Path:
    path = tmp_path / "podcast.wav"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(400))
    return path


def bare_mp3_frames_named_wav(tmp_path: Path) -> Path:
    path = tmp_path / "podcast.wav"
    path.write_bytes(b"\xff\xfb\x90\x64" + bytes(400))
    return path


def aac_named_wav(tmp_path: Path) -> Path:
    path = tmp_path / "voice-memo.wav"
    path.write_bytes(b"\xff\xf1\x50\x80" + bytes(400))
    return path


def flac_named_wav(tmp_path: Path) -> Path:
    return make_tone_wav(tmp_path / "music.wav", file_type="flac")


def random_bytes_named_wav(tmp_path: Path) -> Path:
    path = tmp_path / "noise.wav"
    path.write_bytes(bytes(range(256)) * 4)
    return path


def float_wav(tmp_path: Path) -> Path:
    return make_tone_wav(tmp_path / "float.wav", bits=32, encoding="floating-point")


def mulaw_wav(tmp_path: Path) -> Path:
    return make_tone_wav(tmp_path / "phone.wav", bits=8, encoding="u-law")


def adpcm_wav(tmp_path: Path) -> Path:
    return make_tone_wav(tmp_path / "adpcm.wav", bits=4, encoding="ima-adpcm")


def no_audio(tmp_path: Path) -> Path:
    path = tmp_path / "silent.wav"
    WavWriter(path).close()
    return path


def cut_off_header(tmp_path: Path) -> Path:
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_bytes(pcm_fmt(), pcm_sine(440, 0.1))[:30])
    return path


def ten_channels(tmp_path: Path) -> Path:
    path = tmp_path / "array.wav"
    path.write_bytes(wav_bytes(pcm_fmt(channels=10), bytes(200)))
    return path


def twenty_bits_in_two_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "odd.wav"
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 20)  # 20 bits claimed in a 2-byte container
    path.write_bytes(wav_bytes(fmt, bytes(200)))
    return path


BAD_FILES: list[tuple[Callable[[Path], Path], str]] = [
    (missing, r"does not exist\. Check the path"),
    (folder, r"is a folder, not a WAV file"),
    (empty, r"is empty \(0 bytes\)\. Choose another recording"),
    (text_named_wav, r"is a text file, not a recording\. Choose a WAV recording"),
    (mp3_named_wav, r"is an MP3 file, not a WAV file.*ffmpeg -i"),
    (bare_mp3_frames_named_wav, r"is an MP3 file, not a WAV file"),
    (aac_named_wav, r"is an AAC \(ADTS\) file, not a WAV file"),
    (flac_named_wav, r"is a FLAC file, not a WAV file.*sox .* -b 16"),
    (random_bytes_named_wav, r"is not a WAV file \(it has no RIFF/WAVE header\)\. Convert it"),
    (float_wav, r"holds 32-bit floating-point audio; only integer PCM.*sox \".*\" -b 16 -e signed-integer"),
    (mulaw_wav, r"holds µ-law audio.*Convert it"),
    (adpcm_wav, r"holds IMA ADPCM audio.*Convert it"),
    (no_audio, r"contains no audio \(its length is zero\)"),
    (cut_off_header, r"is damaged or incomplete"),
    (ten_channels, r"has 10 channels; at most 8 can be read\. Mix it down"),
    (twenty_bits_in_two_bytes, r"uses 20-bit samples; only 8, 16, 24 or 32-bit PCM"),
]


@pytest.mark.parametrize(("make_file", "expected"), BAD_FILES, ids=[make.__name__ for make, _ in BAD_FILES])
def test_an_unusable_file_is_refused_with_a_message_naming_it(
    tmp_path: Path, make_file: Callable[[Path], Path], expected: str
) -> None:
    path = make_file(tmp_path)
    source = WavFileSource(path)
    with pytest.raises(InputFileError, match=expected) as refused:
        source.open()
    assert str(path) in refused.value.message
    source.close()


# --- conversion ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "channels", "bits"),
    [
        (16000, 1, 16), (44100, 2, 24), (8000, 1, 8), (48000, 2, 32),
        (22050, 6, 16), (96000, 1, 24), (11025, 1, 16),
    ],
)
def test_any_pcm_wav_becomes_16_khz_mono_of_the_same_length_pitch_and_level(
    tmp_path: Path, rate: int, channels: int, bits: int
) -> None:
    path = make_tone_wav(
        tmp_path / "tone.wav", frequency=1000, duration_s=2.0, rate=rate, channels=channels, bits=bits
    )
    audio = converted(path)
    assert len(audio) == pytest.approx(2 * BYTES_PER_SECOND, abs=8)
    assert zero_crossing_frequency(audio) == pytest.approx(1000, rel=0.01)
    assert rms_dbfs(audio) == pytest.approx(-9.03, abs=0.5)


def test_24_bit_files_use_the_extensible_header_and_are_read(
    tmp_path: Path, open_source: Callable[..., WavFileSource]
) -> None:
    path = make_tone_wav(tmp_path / "tone.wav", rate=44100, channels=2, bits=24)
    assert path.read_bytes()[20:22] == b"\xfe\xff"  # WAVE_FORMAT_EXTENSIBLE
    source = open_source(path, realtime=False)
    assert source.info is not None and source.info.describe() == "44100 Hz, 2 channels, 24-bit PCM"
    assert source.duration_s == pytest.approx(1.0)


def test_speech_recorded_at_44_khz_stereo_24_bit_lasts_as_long_as_at_16_khz(tmp_path: Path) -> None:
    reference = converted(make_speech_wav(tmp_path / "ref.wav", SENTENCES))
    hifi = converted(make_speech_wav(tmp_path / "hifi.wav", SENTENCES, rate=44100, channels=2, bits=24))
    assert len(hifi) == pytest.approx(len(reference), abs=8)
    assert rms_dbfs(hifi) == pytest.approx(rms_dbfs(reference), abs=1.0)


def test_blocks_are_100_ms_except_the_last(tmp_path: Path, open_source: Callable[..., WavFileSource]) -> None:
    source = open_source(make_tone_wav(tmp_path / "tone.wav", duration_s=1.05, rate=44100), realtime=False)
    blocks = read_all(source)
    assert [len(b) // 100 for b in blocks] == [32] * 10 + [16]
    assert source.read() is None


def test_a_file_written_by_the_session_writer_reads_back_unchanged(tmp_path: Path) -> None:
    audio = pcm_sine(300, 1.5)
    with WavWriter(tmp_path / "session.wav") as writer:
        writer.write(audio)
    assert converted(tmp_path / "session.wav") == audio


def test_a_truncated_recording_plays_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    audio = pcm_sine(300, 1.0)
    path.write_bytes(wav_bytes(pcm_fmt(), audio)[:-1001])  # header promises more than the file has
    assert converted(path) == audio[:-1002]


def test_unknown_chunks_and_their_padding_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "tagged.wav"
    audio = pcm_sine(300, 0.2)
    path.write_bytes(wav_bytes(pcm_fmt(), audio, extra_chunks=b"LIST" + struct.pack("<I", 5) + b"INFO!\x00"))
    assert converted(path) == audio


def test_the_source_describes_itself_and_follows_the_source_contract(tmp_path: Path) -> None:
    source = WavFileSource(make_tone_wav(tmp_path / "talk.wav"))
    assert isinstance(source, AudioSource)
    assert source.description == "File: talk.wav"
    assert source.overflows == 0


def test_reading_before_open_is_a_bug_and_close_is_idempotent(tmp_path: Path) -> None:
    source = WavFileSource(make_tone_wav(tmp_path / "talk.wav"), realtime=False)
    with pytest.raises(RuntimeError):
        source.read()
    source.open()
    first = source.read()
    source.close()
    source.close()
    source.open()  # reopening starts from the beginning
    assert source.read() == first
    source.close()


# --- pacing --------------------------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock and a sleep that advances it (``early_by`` seconds short of what was asked)."""

    def __init__(self, early_by: float = 0.0) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.early_by = early_by

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += max(seconds - self.early_by, 0.001)


PacedSource = Callable[[FakeTime], WavFileSource]


@pytest.fixture
def paced_source(
    tmp_path: Path, open_source: Callable[..., WavFileSource]
) -> PacedSource:
    """A second of 44.1 kHz audio paced by a fake clock."""
    path = make_tone_wav(tmp_path / "tone.wav", duration_s=1.0, rate=44100)
    return lambda fake: open_source(path, clock=fake.clock, sleep=fake.sleep)


def test_block_k_is_returned_at_start_plus_k_blocks_without_drift(paced_source: PacedSource) -> None:
    fake = FakeTime()
    source = paced_source(fake)
    returned_at = []
    while source.read() is not None:
        returned_at.append(fake.now - 1000.0)
        fake.now += 0.03  # the caller's own work per block must not add up
    assert returned_at == pytest.approx([k / 10 for k in range(10)])


def test_a_late_caller_catches_up_without_waiting_then_goes_back_to_real_time(
    paced_source: PacedSource,
) -> None:
    fake = FakeTime()
    source = paced_source(fake)
    returned_at = []
    for k in range(10):
        assert source.read() is not None
        returned_at.append(fake.now - 1000.0)
        if k == 3:
            fake.now += 0.35  # a stall: blocks 4 to 6 are overdue
    assert returned_at == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.65, 0.65, 0.65, 0.7, 0.8, 0.9])


def test_a_sleep_that_wakes_early_never_releases_a_block_early(paced_source: PacedSource) -> None:
    fake = FakeTime(early_by=0.04)
    source = paced_source(fake)
    for k in range(10):
        assert source.read() is not None
        assert fake.now - 1000.0 >= k / 10 - 1e-9
    assert len(fake.sleeps) > 9  # it did wake early, and slept again


def test_without_realtime_pacing_nothing_waits(
    tmp_path: Path, open_source: Callable[..., WavFileSource]
) -> None:
    fake = FakeTime()
    path = make_tone_wav(tmp_path / "tone.wav", duration_s=1.0)
    source = open_source(path, realtime=False, clock=fake.clock, sleep=fake.sleep)
    assert len(read_all(source)) == 10
    assert fake.sleeps == []
