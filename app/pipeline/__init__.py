"""One live session and what is kept of it, Qt-free: the session and its factory, the speech seam a
backend implements, the archive of kept sessions, crash recovery, and what a session tells its listener.

Public modules: ``session``, ``factory``, ``speech`` (the seam), ``events``, ``archive``,
``recovery``, ``export_files``. Internal: ``lane`` (one source's connection loop), ``translating``,
``late_translations``, ``journal``, ``ending``, ``folders``.
"""

__all__ = ["archive", "events", "export_files", "factory", "recovery", "session", "speech"]
