"""AssemblyAI Universal Streaming v3: the speech backend behind ``app.pipeline.speech``.

Public module: ``assemblyai`` (the backend, its query rules and its key check). Everything else —
the websocket client, the wire protocol, framing, liveness, the turn assembler — is internal, so a
second speech backend is a sibling package with one such module.
"""

__all__ = ["assemblyai"]
