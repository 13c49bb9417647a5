"""Run the local imitations of AssemblyAI's two services until Ctrl+C, for trying the app by hand
without an account or a network:

    python tests/fakes/serve.py --key demo-key --script "Hello there." "How are you?"
    ASSEMBLYAI_API_KEY=demo-key live-translate --streaming-url ws://127.0.0.1:PORT/v3/ws \
        --llm-url http://127.0.0.1:PORT/v1

The fake recognizer cannot hear words: it assigns the script's sentences, in order, to the speech
segments it detects (the same imitation the tests use)."""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from fakes.llm_server import FakeLlmGateway
from fakes.streaming_server import FakeStreamingServer


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--key", default="demo-key", help="the API key the fakes accept")
    p.add_argument("--script", nargs="*", default=["Hello and welcome.", "This is a local test of Live Translate."])
    p.add_argument("--formatting", choices=("two_message", "inline"), default="two_message")
    p.add_argument("--llm-delay", type=float, default=0.3, help="seconds each translation takes")
    args = p.parse_args()
    with FakeStreamingServer(api_key=args.key, script=args.script, formatting=args.formatting) as stt, \
            FakeLlmGateway(api_key=args.key, delay_s=args.llm_delay) as llm:
        print(f"streaming: {stt.url}\nllm:       {llm.base_url}\nkey:       {args.key}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
