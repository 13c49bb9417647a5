"""Run the local imitations of AssemblyAI's two services until Ctrl+C, for trying the app by hand
without an account or a network:

    python tests/fakes/serve.py --key demo-key --script "Hello there." "How are you?"
    ASSEMBLYAI_API_KEY=demo-key live-translate --streaming-url ws://127.0.0.1:PORT/v3/ws \
        --llm-url http://127.0.0.1:PORT/v1/chat/completions

The LLM imitation can play the EU region (--llm-region eu: Claude and Gemini only), a free-tier
account (--free-tier) or a tight rate limit (--rate-limit 2 --rate-window 10).

The fake recognizer cannot hear words: it assigns the script's sentences, in order, to the speech
segments it detects (the same imitation the tests use).

A network path that dies mid-session without closing anything (Wi-Fi change, sleep):

    python tests/fakes/serve.py --relay --stall-after 4 --script "..." "..."

puts a TCP relay in front of the streaming fake (the URL printed is the relay's) that stops
forwarding, both ways, once the first connection has sent 4 s of audio. Later connections work."""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from fakes.llm_server import FakeLlmGateway
from fakes.relay import TcpRelay
from fakes.streaming_server import INCORRECT_PADDING, FakeStreamingServer, Fault


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--key", default="demo-key", help="the API key the fakes accept")
    p.add_argument("--script", nargs="*", default=["Hello and welcome.", "This is a local test of Live Translate."])
    p.add_argument("--other-script", nargs="*", default=None, metavar="SENTENCE",
                   help="two-way: what the other side says (the multilingual model's connections get these, "
                        "the English model's get --script)")
    p.add_argument("--formatting", choices=("two_message", "inline"), default="two_message")
    p.add_argument("--llm-delay", type=float, default=0.3, help="seconds each translation takes")
    p.add_argument("--relay", action="store_true", help="put a TCP relay in front of the streaming fake")
    p.add_argument("--stall-after", type=float, metavar="S",
                   help="with --relay: the path dies silently once the first connection sent S s of audio")
    p.add_argument("--begin-delay", type=float, default=0.0, help="seconds the fake takes to send Begin")
    p.add_argument("--transient-1008", action="store_true",
                   help="close the first connection with 1008 Unauthorized connection: Incorrect padding")
    p.add_argument("--llm-region", choices=("us", "eu"), default="us", help="the models the LLM imitation serves")
    p.add_argument("--rate-limit", type=int, default=30, help="LLM requests allowed per window")
    p.add_argument("--rate-window", type=float, default=60.0, help="seconds in a rate-limit window")
    p.add_argument("--free-tier", action="store_true", help="refuse every LLM request as for a free-tier account")
    args = p.parse_args()
    faults = [Fault(reject=1008, reject_reason=INCORRECT_PADDING)] if args.transient_1008 else []
    with FakeStreamingServer(api_key=args.key, script=args.script, formatting=args.formatting,
                             begin_delay_s=args.begin_delay, faults=faults,
                             model_scripts={"universal-streaming-multilingual": args.other_script}
                             if args.other_script else None) as stt, \
            FakeLlmGateway(api_key=args.key, delay_s=args.llm_delay, region=args.llm_region, rate_limit=args.rate_limit,
                           rate_window_s=args.rate_window, free_tier=args.free_tier) as llm, \
            contextlib.ExitStack() as stack:
        url = stt.url
        if args.relay:
            relay = stack.enter_context(TcpRelay(stt.port))
            url = relay.ws_url()
            if args.stall_after is not None:
                threading.Thread(target=_stall_later, args=(stt, relay, args.stall_after), daemon=True).start()
        print(f"streaming: {url}\nllm:       {llm.endpoint}\nkey:       {args.key}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def _stall_later(stt: FakeStreamingServer, relay: TcpRelay, seconds: float) -> None:
    stt.wait_for_audio(seconds, index=0, timeout=24 * 3600)
    relay.stall()
    print(f"[serve] the network path died after {seconds:g} s of audio (nothing closed)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
