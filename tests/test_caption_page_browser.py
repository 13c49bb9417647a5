"""The live caption page in a real browser: Playwright drives Debian's chromium (installed for the
tests by packaging/test-browser.sh; Playwright's own browser download is never used) against the
caption server on 127.0.0.1, with the page's Content-Security-Policy in force.

The session side is the event log, written as the session's listener would; the page must show
the live line and replace it, each turn and its translation in the language the reader chose,
resume after a reload and after a network blip without missing anything, follow one session
after another, stop for good when sharing stops, and show nothing at all without the token.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.relay import TcpRelay

from app.core.event_log import EventLog
from app.core.transcript import Translation, TranslationStatus, Turn
from app.web.addresses import Scope
from app.web.server import CaptionServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

CHROMIUM = Path("/usr/bin/chromium")
# As root, in a sandbox with no network but the registries: no sandbox, no GPU, no calls home.
# (Playwright adds --headless and gives every launch a new, empty --user-data-dir of its own.)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

if not CHROMIUM.exists():
    why = "Debian's chromium is not installed: bash packaging/test-browser.sh (packaging/test.sh runs it)"
    if os.environ.get("CI"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


def turn(index: int, text: str) -> Turn:
    return Turn(index=index, segment=0, turn_order=index, text=text, start_ms=index * 3000, end_ms=index * 3000 + 2000,
                finalized_at=0.0)


def done(language: str, text: str) -> Translation:
    return Translation(language, text, TranslationStatus.DONE)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 480, "height": 800}, locale="en-US")
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def log() -> EventLog:
    return EventLog()


@pytest.fixture
def server(log: EventLog) -> Iterator[CaptionServer]:
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0)
    srv.start_thread()
    yield srv
    srv.stop()
    assert srv.wait(5)


def test_the_live_line_appears_and_is_replaced_and_each_turn_arrives_in_the_chosen_language(
        page: Page, log: EventLog, server: CaptionServer, artifacts_dir: Path) -> None:
    page.goto(server.url)
    expect(page.locator("#waiting")).to_be_visible()
    expect(page.locator("#notice")).to_be_hidden()  # on this computer only: nothing crosses a network
    log.begin_session(["es", "de"], source="en")
    expect(page.locator("#status")).to_have_text("Live")
    expect(page.locator("#language option")).to_have_text(["Original", "Español (Spanish)", "Deutsch (German)"])
    page.select_option("#language", "de")
    live = page.locator("#live")
    log.interim("Good")
    expect(live).to_have_text("Good")
    log.interim("Good morning every")
    expect(live).to_have_text("Good morning every")
    expect(page.locator(".live")).to_have_count(1)  # replaced in place, never a second line
    log.turn(turn(0, "Good morning everyone."))
    expect(live).to_be_hidden()
    first = page.locator(".turn[data-turn='0']")
    expect(first).to_have_text("…")  # the German is on its way
    log.translation(0, done("es", "Buenos días a todos."))
    log.translation(0, done("de", "Guten Morgen allerseits."))
    expect(first.locator(".translation")).to_have_text("Guten Morgen allerseits.")
    expect(first.locator(".translation")).to_have_attribute("lang", "de")
    log.turn(turn(1, "Let us begin."))
    log.translation(1, done("de", "Fangen wir an."))
    expect(page.locator(".turn[data-turn='1'] .translation")).to_have_text("Fangen wir an.")
    page.select_option("#language", "es")
    expect(first.locator(".translation")).to_have_text("Buenos días a todos.")
    expect(page.locator(".turn[data-turn='1'] .translation")).to_have_text("…")
    page.check("#both")
    expect(first.locator(".original")).to_have_text("Good morning everyone.")
    page.select_option("#language", "original")
    expect(first).to_have_text("Good morning everyone.")
    page.select_option("#language", "de")
    page.screenshot(path=str(artifacts_dir / "caption-page.png"))


def test_a_reload_resumes_with_the_session_so_far_and_keeps_the_readers_choices(
        page: Page, log: EventLog, server: CaptionServer) -> None:
    log.begin_session(["es", "fr"])
    page.goto(server.url)
    page.select_option("#language", "fr")
    page.click("#larger")
    for index, (text, french) in enumerate([("One.", "Un."), ("Two.", "Deux.")]):
        log.turn(turn(index, text))
        log.translation(index, done("fr", french))
    expect(page.locator(".turn .translation")).to_have_text(["Un.", "Deux."])
    page.reload()
    expect(page.locator(".turn .translation")).to_have_text(["Un.", "Deux."])
    expect(page.locator("#language")).to_have_value("fr")
    log.turn(turn(2, "Three."))
    log.translation(2, done("fr", "Trois."))
    expect(page.locator(".turn .translation")).to_have_text(["Un.", "Deux.", "Trois."])


def test_after_a_network_blip_the_page_reconnects_by_itself_and_misses_nothing(
        page: Page, log: EventLog, server: CaptionServer) -> None:
    log.begin_session(["es"])
    with TcpRelay(server.port) as relay:
        page.goto(server.url.replace(f":{server.port}/", f":{relay.port}/"))
        log.turn(turn(0, "Before the blip."))
        expect(page.locator(".turn")).to_have_count(1)
        # Marked in the page: a page that started over (instead of resuming) would lose the mark.
        page.locator(".turn[data-turn='0']").evaluate("node => { node.dataset.seen = 'before'; }")
        served = server.streams_served
        relay.cut()
        assert server.wait_for_counts(viewers=0)
        log.turn(turn(1, "During the blip."))  # nobody is connected now
        log.translation(1, done("es", "Durante el corte."))
        log.turn(turn(2, "After the blip."))
        expect(page.locator(".turn")).to_have_count(3, timeout=15_000)
        expect(page.locator(".turn[data-turn='1'] .translation")).to_have_text("Durante el corte.")
        assert server.streams_served == served + 1, "one reconnect, by itself"
        expect(page.locator(".turn[data-turn='0']")).to_have_attribute("data-seen", "before")
        expect(page.locator(".turn[data-turn='0']")).to_have_count(1)  # resumed, nothing shown twice


def test_one_session_after_another_on_the_same_page_without_a_reload(
        page: Page, log: EventLog, server: CaptionServer) -> None:
    log.begin_session(["es"])
    page.goto(server.url)
    log.turn(turn(0, "First session."))
    log.end_session(1)
    expect(page.locator(".ended")).to_contain_text("Session ended (1 turn)")
    expect(page.locator("#status")).to_have_text("Session ended")
    log.begin_session(["de"])
    log.turn(turn(0, "Second session."))
    log.translation(0, done("de", "Zweite Sitzung."))
    expect(page.locator(".turn")).to_have_count(1)
    expect(page.locator(".turn .translation")).to_have_text("Zweite Sitzung.")
    expect(page.locator(".ended")).to_have_count(0)


def test_stopping_sharing_tells_the_page_which_then_stops_for_good(page: Page, log: EventLog) -> None:
    srv = CaptionServer(log, Scope.THIS_COMPUTER, 0)
    srv.start_thread()
    page.goto(srv.url)
    assert srv.wait_for_counts(viewers=1)
    srv.stop("Sharing was turned off by the speaker.")
    assert srv.wait(5)
    expect(page.locator("#message")).to_have_text("Sharing was turned off by the speaker.")
    expect(page.locator("#status")).to_have_text("Not following")


def test_a_wrong_token_shows_nothing(page: Page, log: EventLog, server: CaptionServer) -> None:
    log.begin_session(["es"])
    log.turn(turn(0, "Secret words."))
    wrong = server.url.replace(server.token, "x" * len(server.token))
    response = page.goto(wrong)
    assert response is not None and response.status == 403
    expect(page.locator("body")).to_have_text("Forbidden")
    assert "Secret words" not in page.content()
    assert page.goto(wrong + "events").status == 403  # type: ignore[union-attr]
    assert page.goto(f"http://127.0.0.1:{server.port}/").status == 403  # type: ignore[union-attr]


def test_the_obs_layout_is_a_transparent_strip_of_the_last_turns(
        page: Page, log: EventLog, server: CaptionServer, artifacts_dir: Path) -> None:
    log.begin_session(["es"])
    for index in range(4):
        log.turn(turn(index, f"Sentence {index}."))
        log.translation(index, done("es", f"Frase {index}."))
    page.set_viewport_size({"width": 1280, "height": 240})
    page.goto(server.url + "?layout=obs&lang=es&original=1")
    expect(page.locator(".turn.recent")).to_have_count(2)
    expect(page.locator(".turn.recent .translation")).to_have_text(["Frase 2.", "Frase 3."])
    expect(page.locator(".turn[data-turn='0']")).to_be_hidden()
    expect(page.locator("#bar")).to_be_hidden()
    expect(page.locator("body")).to_have_css("background-color", "rgba(0, 0, 0, 0)")
    page.screenshot(path=str(artifacts_dir / "caption-obs.png"), omit_background=True)


def test_on_this_network_the_page_says_it_is_plain_http(page: Page, log: EventLog) -> None:
    srv = CaptionServer(log, Scope.NETWORK, 0)
    srv.start_thread()
    try:
        page.goto(srv.local_url)
        expect(page.locator("#notice")).to_be_visible()
        expect(page.locator("#notice")).to_contain_text("plain HTTP: anyone who can watch this network's traffic "
                                                        "can read these captions")
        page.click("#notice-ok")  # read: it may go, and stays away while the page is open
        expect(page.locator("#notice")).to_be_hidden()
    finally:
        srv.stop()
        assert srv.wait(5)
