"""The window's widgets (GUI thread only). Public to the composition root (``app.gui``):
``main_window``, ``errors`` (the crash reporter), ``recovery_offer``, ``about_dialog`` (the icon too),
``smoke`` (``--smoke-test``), ``help`` (the places it names); the rest is the window's own.
"""

__all__ = ["about_dialog", "errors", "help", "main_window", "recovery_offer", "smoke"]
