"""`python -m laneboard.standins --port N`: a stand-in for manual poking (curl, a CLI)."""

from __future__ import annotations

import argparse
import logging
import threading

from laneboard.standins.server import DEFAULT_MODELS, StandinServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m laneboard.standins",
        description="Serve stand-in Anthropic / OpenAI / Ollama endpoints on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--model", action="append", dest="models",
                        help="a model /api/tags lists (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    server = StandinServer(port=args.port, models=args.models or DEFAULT_MODELS).start()
    print(f"laneboard stand-in on {server.url}  (Ctrl-C stops it)", flush=True)
    print(f"  ANTHROPIC_BASE_URL={server.url}", flush=True)
    print(f"  OpenAI base URL   {server.openai_base_url}", flush=True)
    print(f"  OLLAMA_HOST={server.ollama_host}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
