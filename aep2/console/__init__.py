"""The consoles: web pages for the payee (``/console`` of ``aep2 payee serve``) and the payer
(``aep2 payer console``), server-rendered with a little JavaScript, all served from this package.

Modules, outside in::

    payee_console   the payee's page table, mounted on the payee's app
    payer_console   the payer's page table, as its own app
    shell           pages -> routes: HTML, the live fragment, the JSON twin, login/logout
    access          the token, the session cookie, loopback-only, and the disabled console
    queries_payee   overview, windows -> chunks, skipped pairs (the payee's store)
    queries_health  prover/worker health, queue depth, gas per payment against x402 exact
    queries_payer   spend against the policy's caps, audit log, approvals, agent keys (the payer's database)
    charts          inline SVG bars, drawn on the server

The queries are library functions returning dataclasses; the web part is a thin shell over them.
See docs/console.md.
"""

from aep2.console.access import TOKEN_ENV, ConsoleAccess, configured_token
from aep2.console.payee_console import X402Reference, headroom_from_chain, mount_payee_console

__all__ = [
    "TOKEN_ENV",
    "ConsoleAccess",
    "X402Reference",
    "configured_token",
    "headroom_from_chain",
    "mount_payee_console",
]
