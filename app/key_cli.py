"""``live-translate key set|status|remove``: the API key from the terminal, kept where the window keeps it.

Composition root for the ``key`` subcommand (``app.cli.main`` hands over when the first argument is
``key``); main thread. The key is read from standard input, never from the command line (command
lines are visible to every user of the machine in ``ps``): typed at a hidden prompt on a terminal,
or piped (``pass show assemblyai | live-translate key set``). It goes to the system keyring, or, where
there is none, to the key file (mode 0600, ``app.settings.keystore``) when ``--file`` says so: the
user's consent, given before the key is read. Nothing here ever prints the key.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

from app.core.backends import ASSEMBLYAI
from app.core.errors import AppError
from app.settings.keystore import KeyStatus, KeyStore

EXIT_NO_KEY = 2  # as for the other commands: a setting is missing


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="live-translate key",
        description=f"Keep the {ASSEMBLYAI.label} where the window and the terminal both find it. "
                    "The key is read from standard input, never from the command line.")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    put = commands.add_parser("set", help="read a key from standard input and keep it (system keyring, or --file)",
                              description="Read the key from standard input (a hidden prompt on a terminal, or a "
                                          "pipe) and keep it in the system keyring.")
    put.add_argument("--file", action="store_true",
                     help="keep it in a file only you can read (mode 0600 in the settings folder) instead of the "
                          "keyring; needed where there is no keyring")
    commands.add_parser("status", help="say where the key in use comes from (never the key itself)")
    commands.add_parser("remove", help="forget the saved key (keyring and key file)")
    return p


def main(argv: Sequence[str], *, store: KeyStore | None = None, stdin: TextIO | None = None,
         out: TextIO | None = None, err: TextIO | None = None) -> int:
    args = build_parser().parse_args(list(argv))
    store = store or KeyStore()
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    try:
        if args.command == "set":
            return _set(store, to_file=args.file, stdin=stdin, out=out, err=err)
        if args.command == "remove":
            store.clear(ASSEMBLYAI.service)
            now = store.load(ASSEMBLYAI.service)
            out.write("The saved API key was removed." + (f" {now.where}" if now.key else "") + "\n")
            return 0
        return _status(store.load(ASSEMBLYAI.service), out)
    except AppError as exc:
        err.write(f"error: {exc.message}\n")
        return exc.exit_code


def _status(status: KeyStatus, out: TextIO) -> int:
    if status.key is None:
        out.write(f"{status.where} Set one with: live-translate key set (or export {status.env_var}=...).\n")
        return EXIT_NO_KEY
    out.write(status.where + "\n")
    return 0


def _set(store: KeyStore, *, to_file: bool, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    if not to_file and not store.keyring_available():
        # Asked before the key is read, so nobody types a key that is then thrown away.
        err.write(f"error: no system keyring was found. To keep the key in a file only you can read "
                  f"({store.key_file(ASSEMBLYAI.service)}, mode 0600), run: live-translate key set --file\n")
        return EXIT_NO_KEY
    key = _read_key(stdin)
    if not key:
        err.write("error: no key was given on standard input.\n")
        return EXIT_NO_KEY
    if any(ch.isspace() for ch in key):
        err.write("error: the key contains spaces or line breaks; paste it again as one word.\n")
        return EXIT_NO_KEY
    saved = store.save(key, ASSEMBLYAI.service, to_file=to_file)
    out.write(f"Saved. {saved.where}\n")
    used = store.load(ASSEMBLYAI.service)
    if used.source == "environment":
        out.write(f"Note: {used.env_var} is set in this environment, so that key is used here until it is unset.\n")
    return 0


def _read_key(stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass(f"{ASSEMBLYAI.label} (typing is hidden): ").strip()
    return stdin.readline().strip()  # one line: `echo KEY |` and password managers end it with a newline
