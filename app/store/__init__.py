"""The SQLite session archive: the journal every session writes as it happens, crash recovery's
source, and full-text search. Stdlib only; callable from any thread.

Public modules: ``db`` (``SessionStore`` and its records), ``search`` (``SearchHit``). Internal:
``migrations``, ``locks``, ``opening``, ``sets``, ``rows`` (records and row conversions, re-exported by
``db``), ``reads`` (``SessionStore``'s reads), ``whole`` (whole sessions written at once). The layers
above reach kept sessions through ``app.pipeline.archive``.
"""

__all__ = ["db", "search"]
