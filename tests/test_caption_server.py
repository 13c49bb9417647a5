"""The caption page's server (app/web) on 127.0.0.1: the token, read-only, late joiners, resuming
with Last-Event-ID, sessions one after another on one address, stopping, the viewer cap, and a
stuck viewer that must never hold up the others. Real sockets, a real aiohttp server."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.sse import EventReader, close_all, get

from app.core.errors import ConfigError
from app.core.event_log import EventLog
from app.core.transcript import Translation, TranslationStatus, Turn
from app.pipeline.caption_feed import CaptionFeed
from app.pipeline.events import SessionState, SessionSummary
from app.web.addresses import Scope, default_route_interfaces, network_addresses, page_url, rank_addresses
from app.web.server import CaptionServer, ServerLimits

pytestmark = pytest.mark.timeout(60)


def turn(index: int, text: str) -> Turn:
    return Turn(index=index, segment=0, turn_order=index, text=text, start_ms=index * 3000, end_ms=index * 3000 + 2000,
                finalized_at=0.0)


@pytest.fixture(autouse=True)
def readers_closed() -> Iterator[None]:
    yield
    close_all()


@pytest.fixture
def log() -> EventLog:
    return EventLog()


@pytest.fixture
def server(log: EventLog) -> Iterator[CaptionServer]:
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0)
    srv.start_thread()
    yield srv
    srv.stop()
    assert srv.wait(5), "the caption server did not close"


def events_url(srv: CaptionServer, query: str = "") -> str:
    return srv.local_url + "events" + query


def test_a_wrong_or_missing_token_gets_403_and_nothing_else(server: CaptionServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    wrong = "A" * len(server.token)
    for path in ("/", "/c/", f"/c/{wrong}/", f"/c/{wrong}/events", f"/c/{wrong}/captions.js", f"/c/{server.token}x/",
                 f"/c/{server.token.swapcase()}/", "/favicon.ico", f"/{server.token}/", f"/x/{server.token}/"):
        status, body, _ = get(base + path)
        assert (status, body) == (403, b"Forbidden\n"), path
    status, body, headers = get(server.url)
    assert status == 200 and b"<title>Live captions</title>" in body
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name in ("captions.js", "captions.css"):
        assert get(server.local_url + name)[0] == 200
    # Without the trailing slash the page's relative addresses would break: it redirects, token kept.
    assert get(server.local_url.rstrip("/"))[0] == 200


def test_nothing_can_be_changed_through_the_server(server: CaptionServer) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert get(server.url, method=method)[0] == 405, method
        assert get(events_url(server), method=method)[0] == 405, method
        assert get(f"http://127.0.0.1:{server.port}/c/wrong/", method=method)[0] == 403


def test_a_late_joiner_gets_the_session_so_far_then_follows_it_live(log: EventLog, server: CaptionServer) -> None:
    log.begin_session(["es", "de"])
    log.turn(turn(0, "Hello."))
    log.translation(0, Translation("es", "Hola.", TranslationStatus.DONE))
    log.interim("And now")
    viewer = EventReader(events_url(server))
    assert viewer.status == 200 and viewer.headers["Content-Type"].startswith("text/event-stream")
    hello = viewer.next()
    assert hello is not None and hello.kind == "hello" and hello.data["plain_http_network"] is False
    assert viewer.retry_ms == 2000
    so_far = viewer.until("interim")
    assert [e.kind for e in so_far] == ["session_started", "turn", "translation", "interim"]
    assert so_far[1].data["text"] == "Hello." and so_far[2].data["text"] == "Hola."
    log.interim("And now the")
    log.turn(turn(1, "And now the news."))
    live = viewer.until("turn")
    assert [e.data.get("text") for e in live] == ["And now the", "And now the news."]
    viewer.close()


def test_a_viewer_that_reconnects_resumes_after_its_last_event_and_misses_nothing(
        log: EventLog, server: CaptionServer) -> None:
    log.begin_session(["es"])
    log.turn(turn(0, "One."))
    first = EventReader(events_url(server))
    first.until("turn")
    seen = first.last_id
    first.close()  # the network blip
    log.turn(turn(1, "Two."))
    log.translation(1, Translation("es", "Dos.", TranslationStatus.DONE))
    log.turn(turn(2, "Three."))
    again = EventReader(events_url(server), last_event_id=seen)
    assert again.next().kind == "hello"  # type: ignore[union-attr]
    resumed = again.until("turn")
    resumed += again.until("turn")
    assert [(e.kind, e.data.get("text")) for e in resumed] == [("turn", "Two."), ("translation", "Dos."),
                                                                ("turn", "Three.")]
    # The page's own reconnect (after the browser gave up) passes the id as ?last=.
    by_query = EventReader(events_url(server, f"?last={seen}"))
    by_query.next()
    assert by_query.next().data["text"] == "Two."  # type: ignore[union-attr]
    for reader in (again, by_query):
        reader.close()


def test_one_address_serves_session_after_session_on_the_same_stream(log: EventLog, server: CaptionServer) -> None:
    url_before = server.url
    first = CaptionFeed(log, ("es",))
    first.state_changed(SessionState.LIVE, "")
    viewer = EventReader(events_url(server))
    got = viewer.until("state")  # it has joined: what follows reaches it live
    first.turn_finalized(turn(0, "First session."))
    first.session_ended(SessionSummary(Path("/x"), Path("/x/a.wav"), 1.0, 1, 0, 0))
    second = CaptionFeed(log, ("de",))
    second.state_changed(SessionState.LIVE, "")
    second.turn_finalized(turn(0, "Second session."))
    got += viewer.until("session_ended")
    got += viewer.until("turn")
    assert [e.kind for e in got if e.kind != "state"] == ["hello", "session_started", "turn", "interim",
                                                          "session_ended", "session_started", "turn"]
    assert got[-1].data["text"] == "Second session." and server.url == url_before
    viewer.close()


def test_stopping_tells_every_viewer_and_ends_every_stream_for_good(log: EventLog) -> None:
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0)
    srv.start_thread()
    log.begin_session(["es"])
    viewers = [EventReader(events_url(srv)) for _ in range(3)]
    for viewer in viewers:
        viewer.until("session_started")
    assert srv.wait_for_counts(viewers=3)
    srv.stop("Sharing was turned off.")
    for viewer in viewers:
        closed = viewer.until("closed")[-1]
        assert closed.data["message"] == "Sharing was turned off." and closed.id is None
        assert viewer.next() is None, "the stream ends after 'closed'"
    assert srv.wait(5)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


def test_the_viewer_cap_turns_the_next_one_away_with_a_message(log: EventLog) -> None:
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0, limits=ServerLimits(max_viewers=2))
    srv.start_thread()
    try:
        inside = [EventReader(events_url(srv)) for _ in range(2)]
        for viewer in inside:
            assert viewer.next().kind == "hello"  # type: ignore[union-attr]
        assert srv.wait_for_counts(viewers=2)
        turned_away = EventReader(events_url(srv))
        full = turned_away.next()
        assert full is not None and full.kind == "full" and "limit is 2" in full.data["message"]
        assert turned_away.next() is None and srv.refused_viewers == 1 and srv.viewer_count == 2
        inside[0].close()
        assert srv.wait_for_counts(viewers=1)
        assert EventReader(events_url(srv)).next().kind == "hello"  # type: ignore[union-attr]
    finally:
        srv.stop()
        assert srv.wait(5)


def test_a_stuck_viewer_is_dropped_and_never_holds_up_the_others(log: EventLog) -> None:
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0, limits=ServerLimits(queue_batches=4))
    srv.start_thread()
    try:
        log.begin_session(["es"])
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", srv.port))
        path = events_url(srv).split(str(srv.port), 1)[1]
        stuck.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())  # and never reads a byte
        assert srv.wait_for_counts(viewers=1)
        reader = EventReader(events_url(srv))
        reader.until("session_started")
        long_text = "word " * 20_000  # 100 kB a turn: the stuck viewer's buffers fill within a few dozen
        index = 0
        while srv.dropped_viewers == 0:
            assert index < 400, "the stuck viewer was never dropped"
            log.turn(turn(index, f"{index} {long_text}"))
            got = reader.until("turn")[-1]  # the reader keeps up, one turn at a time
            assert got.data["turn"] == index
            index += 1
        assert srv.wait_for_counts(viewers=1)
        log.turn(turn(index, "after the drop"))
        assert reader.until("turn")[-1].data["text"] == "after the drop"
        stuck.close()
        reader.close()
    finally:
        srv.stop()
        assert srv.wait(5)


def test_a_dropped_viewer_resumes_from_the_log_with_its_last_id(log: EventLog) -> None:
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0, limits=ServerLimits(queue_batches=1))
    srv.start_thread()
    try:
        log.begin_session(["es"])
        slow = EventReader(events_url(srv))
        slow.until("session_started")
        seen = slow.last_id
        long_text = "word " * 50_000
        for index in range(200):  # nobody reads: the viewer falls behind and is cut
            log.turn(turn(index, f"{index} {long_text}"))
            if srv.wait_for_counts(dropped=1, timeout_s=0.01):
                break
        assert srv.wait_for_counts(dropped=1)
        back = EventReader(events_url(srv), last_event_id=seen)
        resumed = [e for e in back.until("turn") if e.kind == "turn"]
        assert resumed[0].data["turn"] == 0, "it resumes with the first turn it had not received"
        back.close()
        slow.close()
    finally:
        srv.stop()
        assert srv.wait(5)


def test_sharing_on_the_network_listens_on_every_interface_and_says_it_is_plain_http(log: EventLog) -> None:
    srv = CaptionServer(log, Scope.NETWORK, 0)
    srv.start_thread()
    try:
        addresses = network_addresses()
        assert all(not a.startswith("127.") for a in addresses)
        assert srv.url == page_url(addresses[0] if addresses else "127.0.0.1", srv.port, srv.token)
        viewer = EventReader(events_url(srv))  # 127.0.0.1 is one of every interface
        hello = viewer.next()
        assert hello is not None and hello.data == {"scope": "network", "plain_http_network": True}
        viewer.close()
    finally:
        srv.stop()
        assert srv.wait(5)


def test_a_port_in_use_is_an_error_that_says_what_to_do_unless_any_port_will_do(log: EventLog) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ConfigError, match=rf"port {port}.*--captions-port"):
            CaptionServer(log, Scope.THIS_COMPUTER, port).bind()
        other = CaptionServer(log, Scope.THIS_COMPUTER, port, any_port_if_busy=True)
        other.bind()
        assert other.port not in (0, port)
        other.stop()
        assert other.wait(1)
    finally:
        taken.close()


def test_every_address_has_its_own_unguessable_token(log: EventLog) -> None:
    tokens = {CaptionServer(log).token for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) >= 24 for t in tokens)


def test_sharing_stopped_before_its_thread_began_ends_cleanly(log: EventLog) -> None:
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0)
    srv.bind()
    srv.stop()  # the user turned sharing off again at once, before the server's thread ran
    assert srv.wait(1)
    srv.serve()  # returns at once: nothing is served
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


def test_the_address_shown_is_the_one_phones_can_reach_not_a_container_bridge(tmp_path: Path) -> None:
    named = [("lo", "127.0.0.1"), ("docker0", "172.17.0.1"), ("wlan0", "192.168.1.20"), ("eth1", "10.0.0.5"),
             ("", "192.168.1.20"), ("wlan0", "169.254.3.3"), ("tun0", "8.8.4.4")]
    assert rank_addresses(named, {"wlan0"}) == ["192.168.1.20", "10.0.0.5", "8.8.4.4", "172.17.0.1"]
    assert rank_addresses(named, set())[0] == "10.0.0.5"  # no default route known: a LAN address first
    routes = tmp_path / "route"
    routes.write_text("Iface\tDestination\tGateway\nwlan0\t00000000\t0101A8C0\neth1\t0000000A\t00000000\n")
    assert default_route_interfaces(routes) == {"wlan0"}
    assert default_route_interfaces(tmp_path / "missing") == set()
