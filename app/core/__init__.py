"""The shared vocabulary: transcript and turn model, settings, catalog and backend descriptors,
validation, errors, exports. Pure and stdlib-only (an import-linter contract); every module is public.
"""

__all__ = [
    "backends", "backoff", "captions", "catalog", "credits", "devices", "errors", "event_log", "exports", "kept",
    "languages", "level", "resources", "settings", "timefmt", "transcript", "transcript_file", "turn_events",
    "units", "validate", "who", "wording",
]
