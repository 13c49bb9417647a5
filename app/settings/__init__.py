"""Where choices and keys are kept: ``qt_store`` (QSettings, never a key) and ``keystore`` (one key per
service, in the OS keyring or the environment)."""

__all__ = ["keystore", "qt_store"]
