"""The installed Qt binding must not leak references to None/True/False.

PySide6-Essentials 6.12.0 (abi3 wheels built against CPython >= 3.12 headers) returns those
singletons without a reference on CPython 3.11, so every void call and signal emit steals one and
a long session aborts with "Fatal Python error: none_dealloc". pyproject.toml keeps that build out;
this test fails loudly if a future build does the same."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(bool)


def test_void_calls_and_emits_keep_the_reference_counts_of_none_true_and_false() -> None:
    probe = _Emitter()
    received: list[bool] = []
    probe.fired.connect(received.append)
    before = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True), ("False", False))}
    for _ in range(500):
        probe.setObjectName("probe")
        probe.fired.emit(True)
        probe.fired.emit(False)
    received.clear()
    after = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True), ("False", False))}
    for name in before:
        assert before[name] - after[name] < 50, f"the Qt binding leaks references to {name}"
