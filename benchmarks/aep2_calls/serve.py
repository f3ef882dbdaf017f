"""Entry point of the payee process: ``python -m benchmarks.aep2_calls.serve``.

Started by :func:`benchmarks.aep2_calls.run_aep2_calls` through
:class:`benchmarks._server.ServerProcess`, which passes the settings (the payee's key among them)
in the environment.
"""

from __future__ import annotations

from benchmarks._server import serve, server_settings
from benchmarks.aep2_calls._app import payee_app


def main() -> None:
    settings, port = server_settings()
    serve(payee_app(**settings), port)


if __name__ == "__main__":
    main()
