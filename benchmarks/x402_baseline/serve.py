"""Entry point of one server process: ``python -m benchmarks.x402_baseline.serve {facilitator,payee}``.

Started by :class:`benchmarks.x402_baseline._serve.ServerProcess`, which passes the settings in
``X402_BASELINE_SERVER``.
"""

from __future__ import annotations

import json
import os
import sys

import uvicorn

from benchmarks.x402_baseline._apps import facilitator_app, payee_app
from benchmarks.x402_baseline._serve import ENV


def main(role: str) -> None:
    settings = json.loads(os.environ[ENV])
    port = settings.pop("port")
    if role == "facilitator":
        settings["private_key"] = bytes.fromhex(settings["private_key"])
        app = facilitator_app(**settings)
    elif role == "payee":
        app = payee_app(**settings)
    else:
        raise SystemExit(f"unknown role {role!r}: facilitator or payee")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1])
