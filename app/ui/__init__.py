"""The window's widgets (GUI thread only). Public to the composition root (``app.gui``):
``main_window``, ``errors`` (the crash reporter), ``recovery_offer``, ``help`` (the places it names);
the rest is the window's own.
"""

__all__ = ["errors", "help", "main_window", "recovery_offer"]
