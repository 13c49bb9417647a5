"""A dead network path is noticed in seconds [protocol §9.1]: pings keep a quiet connection alive,
and a connection where nothing at all comes back is reported as a drop.

The fault sits where the network is: a TCP relay between the client and the fake server that
stops forwarding without closing anything (``tests/fakes/relay.py``), because the websocket server
library answers pings by itself even when the fake's session handler is not reading.
"""
from __future__ import annotations

import pytest
from fakes.relay import TcpRelay
from fakes.streaming_server import FakeStreamingServer, silence
from test_stt_client import KEY, Runner, no_client_threads_left  # noqa: F401 - the autouse thread check

from app.core.errors import StreamingError
from app.stt.client import StreamingClient
from app.stt.protocol import StreamingParams, build_url

pytestmark = pytest.mark.timeout(30)

# Short timings keep these tests quick; the defaults (2 s / 8 s) are the same code with other numbers.
FAST_LIVENESS = {"ping_interval_s": 0.15, "liveness_timeout_s": 0.6}


def relayed_client(relay: TcpRelay, **kwargs: object) -> StreamingClient:
    url = build_url(StreamingParams(), relay.ws_url())
    return StreamingClient(url, KEY, on_message=lambda msg: None, **{**FAST_LIVENESS, **kwargs})  # type: ignore[arg-type]


def test_a_dead_network_path_ends_the_connection_as_a_drop_that_can_be_retried() -> None:
    with FakeStreamingServer(KEY) as srv, TcpRelay(srv.port) as relay:
        client = relayed_client(relay)
        client.connect()
        runner = Runner(client)
        client.send_audio(silence(300))
        srv.wait_for_audio(0.3)
        relay.stall()  # packets vanish both ways; no FIN, no RST, no close frame
        info = runner.result(timeout=5)
        # The service never heard about it: for the server the session is still open.
        assert srv.connections[0].end == "open"
    assert info.code is None and not info.terminated and not info.requested
    assert info.silent_for_s is not None and info.silent_for_s >= FAST_LIVENESS["liveness_timeout_s"]
    error = info.to_error()
    assert isinstance(error, StreamingError) and error.retryable and error.close_code is None
    assert "stopped answering" in error.message


def test_a_quiet_but_live_connection_is_kept_open_by_its_pings() -> None:
    # Nobody speaks, so the service sends nothing; only the pongs show it is there.
    with FakeStreamingServer(KEY) as srv, TcpRelay(srv.port) as relay:
        client = relayed_client(relay)
        client.connect()
        runner = Runner(client)
        client.send_audio(silence(200))
        # Two liveness timeouts of silence from the service: the connection must survive them.
        assert not client.wait_closed(2 * FAST_LIVENESS["liveness_timeout_s"])
        client.stop()
        info = runner.result()
    assert info.terminated and info.code == 1000 and info.silent_for_s is None

