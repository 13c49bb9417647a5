"""Qt glue between the window and the Qt-free session: the controller, the bridge of session events,
the QThreads, background tasks, signals from the OS, the key check.

Public modules: ``controller``, ``jobs`` (long archive jobs with progress), ``key_check``,
``os_signals``, ``tasks``, ``threads``. Internal:
``bridge``, ``session_signals``.
"""

__all__ = ["controller", "jobs", "key_check", "os_signals", "tasks", "threads"]
