"""One live session and what is kept of it, Qt-free: the session and its factory, the speech seam a
backend implements, the archive of kept sessions and its long jobs, crash recovery, and what a
session tells its listener.

Public modules: ``session``, ``factory``, ``speech`` (the seam), ``events``, ``two_way`` (a
conversation's two sides), ``archive``, ``recovery``, ``export_files``, ``recordings``, and the
archive's jobs: ``jobs`` (progress), ``retranslate``, ``gap_filling``. Internal: ``lane`` (one
source's connection loop), ``sides`` and ``session_sides`` (a two-way session's second side),
``echo`` (the microphone hearing the speakers), ``idle``, ``translating``, ``late_translations``,
``journal``, ``ending``, ``folders``, ``bundles``.
"""

__all__ = ["archive", "caption_feed", "events", "export_files", "factory", "fanout", "gap_filling",
           "jobs", "recordings", "recovery", "retranslate", "session", "speech", "two_way"]
