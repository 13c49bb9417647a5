"""Live Translate: live speech transcription (AssemblyAI Universal Streaming v3) and translation
(AssemblyAI LLM Gateway), in a window or in the terminal."""
__version__ = "0.1.0"
