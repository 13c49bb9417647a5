"""The window's widgets (GUI thread only). Public to the composition root (``app.gui``):
``main_window``, ``errors`` (the crash reporter), ``recovery_offer``; the rest is the window's own.
"""

__all__ = ["errors", "main_window", "recovery_offer"]
