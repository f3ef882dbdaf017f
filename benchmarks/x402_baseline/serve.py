"""Entry point of one server process: ``python -m benchmarks.x402_baseline.serve {facilitator,payee}``.

Started by :class:`benchmarks.x402_baseline._serve.ServerProcess`, which passes the settings in
the environment (:func:`benchmarks._server.server_settings`).
"""

from __future__ import annotations

import sys

from benchmarks._server import serve, server_settings
from benchmarks.x402_baseline._apps import facilitator_app, payee_app


def main(role: str) -> None:
    settings, port = server_settings()
    if role == "facilitator":
        settings["private_key"] = bytes.fromhex(settings["private_key"])
        app = facilitator_app(**settings)
    elif role == "payee":
        app = payee_app(**settings)
    else:
        raise SystemExit(f"unknown role {role!r}: facilitator or payee")
    serve(app, port)


if __name__ == "__main__":
    main(sys.argv[1])
