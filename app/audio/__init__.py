"""Audio in and out of the session: the microphone (and, later, the system's audio) through the one
PortAudio owner, recordings read as sources, and the crash-safe WAV writer.

Public modules (the only ones other packages import; a house-rule test checks): ``source`` (the
``AudioSource`` protocol a new source implements), ``microphone``, ``wav_source``, ``wav_writer``,
``portaudio``. ``format`` is internal.
"""

__all__ = ["microphone", "portaudio", "source", "wav_source", "wav_writer"]
