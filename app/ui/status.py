"""The status bar: session state with a coloured dot, a transient message, the clock, the turn count.

GUI thread. States are the pipeline's (``SessionState`` values) plus "idle" ("Ready": Record
would work), "not ready" (the detail says why) and "error"; the detail ("reconnecting (2)") is
shown next to the state. Transient messages ("Copied 3 rows") clear themselves after a few seconds
and give way again to the standing one, as QStatusBar's temporary messages do: the last session's
"Saved … open folder" stays until the next session begins. The session clock ticks once a second
only while a session runs. While the LLM
Gateway's rate limit holds translations back, a label beside the state says so ("12 translations
waiting for the rate limit"), whatever the state, until the session says it no longer does.
"""
from __future__ import annotations

import html
import re
import time

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Slot
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QToolButton, QWidget

from app.core.errors import AppError, AuthError, ConfigError, DeviceError, OutputError
from app.core.timefmt import clock
from app.pipeline.events import SessionState, SessionSummary, rate_limit_text
from app.ui.look import Tone, tone

IDLE, ERROR, NOT_READY = "idle", "error", "not ready"
MESSAGE_MS = 8000
STATE_MAX_PX = 320  # a long reason is cut with "…" (the whole of it is in the tooltip)

_LABELS: dict[str, tuple[str, Tone]] = {
    IDLE: ("Ready", Tone.NEUTRAL),
    SessionState.STARTING.value: ("Starting…", Tone.WARNING),
    SessionState.CONNECTING.value: ("Connecting…", Tone.WARNING),
    SessionState.OFFLINE.value: ("Offline — recording, not transcribing", Tone.WARNING),
    SessionState.LIVE.value: ("Live", Tone.GOOD),
    SessionState.RECONNECTING.value: ("Reconnecting", Tone.WARNING),
    SessionState.FINISHING.value: ("Finishing…", Tone.WARNING),
    SessionState.ENDED.value: ("Finished", Tone.NEUTRAL),
    SessionState.FAILED.value: ("Stopped with an error", Tone.BAD),
    ERROR: ("Error", Tone.BAD),
    NOT_READY: ("Not ready", Tone.WARNING),
}


def html_free(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class StatusPanel(QWidget):
    """Owns the widgets it puts into ``status_bar``; not itself shown."""

    def __init__(self, status_bar: QStatusBar) -> None:
        super().__init__(status_bar)
        self.hide()
        self.state = IDLE
        self.detail = ""
        self.standing = ""  # the message that stays when transient ones expire
        self._standing_tip = ""
        self.state_label = QLabel(status_bar)
        self.message_label = QLabel(status_bar)
        self.clock_label = QLabel(status_bar)
        self.turns_label = QLabel(status_bar)
        self.clock_label.setToolTip("Length of the session")
        self.turns_label.setToolTip("Finished turns in the transcript")
        for label in (self.state_label, self.turns_label, self.clock_label):
            label.setContentsMargins(8, 0, 8, 0)
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        # A long message is cut, never the state beside it.
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # While the end of a session waits for translations, the user may stop waiting.
        self.quit_button = QToolButton(status_bar)
        self.quit_button.setText("Quit now")
        self.quit_button.setToolTip("Stop waiting: the translations still open are marked not translated "
                                    "(they can be retried later); everything recorded is saved")
        self.quit_button.hide()
        self.rate_label = QLabel(status_bar)
        self.rate_label.setContentsMargins(8, 0, 8, 0)
        self.rate_label.setToolTip("The LLM Gateway allows a number of requests per minute: translations wait "
                                   "for the next minute instead of failing; none is lost")
        self.rate_label.hide()
        status_bar.addWidget(self.state_label)
        status_bar.addWidget(self.quit_button)
        status_bar.addWidget(self.rate_label)
        status_bar.addWidget(self.message_label, 1)
        status_bar.addPermanentWidget(self.turns_label)
        status_bar.addPermanentWidget(self.clock_label)
        self._started: float | None = None
        self._elapsed = 0.0
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_clock)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clear_message)
        self.set_state(IDLE)
        self.set_turns(0)
        self._update_clock()

    def set_state(self, state: str, detail: str = "") -> None:
        self.state, self.detail = state, detail
        text, kind = _LABELS.get(state, (state.capitalize(), Tone.NEUTRAL))
        if state in (SessionState.RECONNECTING.value, SessionState.FINISHING.value) and detail:
            text = detail[0].upper() + detail[1:]  # "Reconnecting (2)", "Finishing 48 translations…"
        elif state == NOT_READY and detail:
            text = f"{text}: {detail}"
        self.quit_button.setVisible(state == SessionState.FINISHING.value and bool(detail))
        color = tone(self.palette(), kind).name()
        shown = self.state_label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, STATE_MAX_PX)
        self.state_label.setText(f'<span style="color:{color}">●</span>&nbsp;{html.escape(shown)}')
        self.state_label.setAccessibleName(text)
        self.state_label.setToolTip(text if shown != text else "")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # light/dark switch: recolour the dot
            self.set_state(self.state, self.detail)

    @Slot(int, float)
    def set_rate_limit(self, waiting: int, resume_in_s: float) -> None:
        """``waiting`` translations are held back by the rate limit (0: none any more)."""
        if waiting <= 0:
            self.rate_label.hide()
            self.rate_label.clear()
            self.rate_label.setAccessibleName("")
            return
        text = rate_limit_text(waiting, resume_in_s)
        color = tone(self.palette(), Tone.WARNING).name()
        self.rate_label.setText(f'<span style="color:{color}">⏳</span>&nbsp;{text[0].upper() + text[1:]}')
        self.rate_label.setAccessibleName(text)
        self.rate_label.show()

    @property
    def rate_limit_text(self) -> str:
        return "" if self.rate_label.isHidden() else self.rate_label.accessibleName()

    @property
    def state_text(self) -> str:
        return self.state_label.accessibleName()

    @Slot(str)
    def show_message(self, text: str, *, timeout_ms: int = MESSAGE_MS) -> None:
        """A transient message (``timeout_ms`` > 0) gives way to the standing one when it expires;
        0 keeps it until the next message."""
        self._show(text)
        if timeout_ms > 0:
            self._message_timer.start(timeout_ms)
        else:
            self._message_timer.stop()

    def set_standing(self, text: str, tooltip: str = "") -> None:
        """The message that stays (the last session's "Saved … open folder"), shown now."""
        self.standing, self._standing_tip = text, tooltip
        self._message_timer.stop()
        self._show(text, tooltip)

    def _show(self, text: str, tooltip: str = "") -> None:
        self.message_label.setText(text)
        self.message_label.setToolTip(tooltip or html_free(text))

    @Slot()
    def clear_message(self) -> None:
        """The transient message goes; the standing one (if any) comes back."""
        self._message_timer.stop()
        self._show(self.standing, self._standing_tip)

    def clear_standing(self) -> None:
        self.standing = self._standing_tip = ""
        self.clear_message()

    def set_turns(self, count: int) -> None:
        self.turns_label.setText(f"{count} turn{'s' if count != 1 else ''}")

    def start_clock(self) -> None:
        self._started = time.monotonic()
        self._elapsed = 0.0
        self._tick.start()
        self._update_clock()

    def stop_clock(self) -> None:
        if self._started is not None:
            self._elapsed = time.monotonic() - self._started
        self._started = None
        self._tick.stop()
        self._update_clock()

    @Slot()
    def _update_clock(self) -> None:
        seconds = time.monotonic() - self._started if self._started is not None else self._elapsed
        self.clock_label.setText(clock(int(seconds * 1000), sep=""))


def saved_text(summary: SessionSummary) -> tuple[str, str]:
    """The standing message after a session was saved (rich text with its folder's link) and its tooltip."""
    url = QUrl.fromLocalFile(str(summary.folder)).toString()
    link = f'<a href="{html.escape(url)}">open folder</a>'
    tip = f"Saved in {summary.folder}"
    if not summary.transcribed:
        return ((f"Saved {summary.audio_seconds:.0f} s of audio; nothing was transcribed: the streaming service "
                f"could not be reached — {link}"), tip)
    failed = f", {summary.translations_failed} not translated (Session ▸ Retry)" if summary.translations_failed else ""
    turns = f"{summary.turns} turn{'s' if summary.turns != 1 else ''}"
    return f"Saved {turns} and {summary.audio_seconds:.0f} s of audio{failed} — {link}", tip


def cause_of(error: AppError) -> str:
    """What has to change before the error that stopped (or never started) a session is fixed:
    "key", "settings", "devices", or "any" change at all."""
    if isinstance(error, AuthError):
        return "key"
    if isinstance(error, (ConfigError, OutputError)):
        return "settings"
    if isinstance(error, DeviceError):
        return "devices"
    return "any"


def fixes(change: str, cause: str | None) -> bool:
    """Whether ``change`` ("key", "settings", "devices") may have fixed an error of ``cause``; a
    chosen device is a settings change."""
    return cause is not None and (cause in (change, "any") or (cause == "devices" and change == "settings"))
