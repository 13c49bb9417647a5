"""The live caption page: a read-only web page served from the app, and what it needs.

Qt-free, beside ``stt``, ``audio``, ``translate`` and ``store`` in the layers: an I/O adapter that
reads the session's event log (``app.core.event_log``) and knows nothing of the session itself.
Its server runs an asyncio loop on a thread of its own (``server.CaptionServer.serve``);
``server`` imports aiohttp: import it only where captions are shared.
"""
__all__ = ["addresses", "server"]
