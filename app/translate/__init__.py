"""Translation: the seam (``base``), the translation queue and its pacing, prompts, and the
OpenAI-compatible chat-completions backend (``gateway``, AssemblyAI's LLM Gateway by default).

Public modules: ``base``, ``gateway``, ``queue``, ``pacing``, ``prompt``. ``replies`` is internal.
"""

__all__ = ["base", "gateway", "pacing", "prompt", "queue"]
