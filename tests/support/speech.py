"""Test recordings made on the fly (espeak-ng speech, sox tones in any WAV format) and tone analysis.

Files are built once per test session in a private cache folder and copied to the path a test asks
for, so tests may modify their copy. sox's automatic dither is off (``-D``) so outputs are repeatable.
``encoding`` is sox's ``-e`` value (``signed-integer``, ``unsigned-integer``, ``floating-point``,
``u-law``, ``a-law``, ``ima-adpcm``, ``ms-adpcm``); ``None`` lets sox choose (unsigned for 8-bit WAV).
``file_type`` is sox's ``-t`` value, for making real FLAC or Ogg files that carry a ``.wav`` name.
"""
from __future__ import annotations

import atexit
import math
import shutil
import subprocess
import tempfile
from array import array
from collections.abc import Callable
from pathlib import Path

_cache_folder: Path | None = None
_cache: dict[tuple[object, ...], Path] = {}


def _cache_dir() -> Path:
    global _cache_folder
    if _cache_folder is None:
        _cache_folder = Path(tempfile.mkdtemp(prefix="live-translate-test-audio-"))
        atexit.register(shutil.rmtree, _cache_folder, ignore_errors=True)
    return _cache_folder


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")


def _output_options(rate: int, channels: int, bits: int, encoding: str | None, file_type: str) -> list[str]:
    options = ["-r", str(rate), "-c", str(channels), "-b", str(bits)]
    if encoding is not None:
        options += ["-e", encoding]
    return [*options, "-t", file_type]


def _cached(key: tuple[object, ...], path: Path, build: Callable[[Path], None]) -> Path:
    cached = _cache.get(key)
    if cached is None:
        cached = _cache_dir() / f"audio-{len(_cache)}.bin"
        build(cached)
        _cache[key] = cached
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, path)
    return path


def make_speech_wav(
    path: Path,
    sentences: list[str],
    *,
    pause_s: float = 1.2,
    lead_s: float = 0.5,
    rate: int = 16000,
    channels: int = 1,
    bits: int = 16,
    voice: str = "en",
    encoding: str | None = None,
    file_type: str = "wav",
) -> Path:
    """Speak ``sentences`` with ``pause_s`` of silence between them and ``lead_s`` before and after."""
    if not sentences:
        raise ValueError("give at least one sentence")
    key = ("speech", tuple(sentences), pause_s, lead_s, rate, channels, bits, voice, encoding, file_type)

    def build(target: Path) -> None:
        work = Path(tempfile.mkdtemp(dir=_cache_dir()))
        segments = []
        for number, sentence in enumerate(sentences):
            spoken = work / f"spoken-{number}.wav"
            _run(["espeak-ng", "-v", voice, "-w", str(spoken), sentence])
            segment = work / f"segment-{number}.wav"
            gap = pause_s if number < len(sentences) - 1 else 0.0
            _run(["sox", "-D", str(spoken), str(segment), "pad", "0", f"{gap:.3f}"])
            segments.append(str(segment))
        _run(
            ["sox", "-D", *segments, *_output_options(rate, channels, bits, encoding, file_type), str(target),
             "pad", f"{lead_s:.3f}", f"{lead_s:.3f}"]
        )

    return _cached(key, Path(path), build)


def make_tone_wav(
    path: Path,
    *,
    frequency: float = 440.0,
    duration_s: float = 1.0,
    amplitude: float = 0.5,
    rate: int = 16000,
    channels: int = 1,
    bits: int = 16,
    encoding: str | None = None,
    file_type: str = "wav",
) -> Path:
    """A sine of ``frequency`` Hz at ``amplitude`` (0..1 of full scale), the same in every channel."""
    key = ("tone", frequency, duration_s, amplitude, rate, channels, bits, encoding, file_type)

    def build(target: Path) -> None:
        _run(
            ["sox", "-D", "-n", *_output_options(rate, channels, bits, encoding, file_type), str(target),
             "synth", f"{duration_s:.6f}", "sine", str(frequency), "vol", str(amplitude)]
        )

    return _cached(key, Path(path), build)


def convert_wav(
    source: Path,
    path: Path,
    *,
    rate: int = 16000,
    channels: int = 1,
    bits: int = 16,
    encoding: str | None = None,
    file_type: str = "wav",
) -> Path:
    """Re-encode ``source`` (any format sox reads) into another format at ``path``."""
    path = Path(path)
    _run(["sox", "-D", str(source), *_output_options(rate, channels, bits, encoding, file_type), str(path)])
    return path


def pcm_sine(
    frequency: float,
    duration_s: float,
    *,
    rate: int = 16000,
    channels: int = 1,
    sample_width: int = 2,
    amplitude: float = 0.5,
) -> bytes:
    """Little-endian PCM of a sine, the same in every channel (8-bit is unsigned, as in WAV)."""
    full_scale = 1 << (sample_width * 8 - 1)
    peak = min(full_scale - 1, round(amplitude * full_scale))
    frames = bytearray()
    for n in range(round(duration_s * rate)):
        value = round(peak * math.sin(2 * math.pi * frequency * n / rate))
        sample = bytes([value + 128]) if sample_width == 1 else value.to_bytes(sample_width, "little", signed=True)
        frames += sample * channels
    return bytes(frames)


def zero_crossing_frequency(pcm: bytes, rate: int = 16000) -> float:
    """The frequency of a clean s16le tone, from its upward zero crossings."""
    samples = array("h", pcm)
    crossings = [n for n in range(1, len(samples)) if samples[n - 1] < 0 <= samples[n]]
    if len(crossings) < 2:
        return 0.0
    return (len(crossings) - 1) * rate / (crossings[-1] - crossings[0])
