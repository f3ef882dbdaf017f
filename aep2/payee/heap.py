"""Keep the collector's full passes off paid calls: freeze the heap the server starts with.

Measured on ``PayeeCheck.accept`` (docs/payee.md, "Tail latency"): a served payee holds a few
hundred thousand long-lived objects (web3, pydantic, SQLAlchemy, FastAPI), and CPython's oldest
generation walks them all whenever it runs: a 100 ms pause inside whichever call tripped it, the
one outlier that set the maximum. ``gc.freeze`` moves everything alive at start-up into a
permanent generation the collector skips, so a full pass walks only what calls allocated since.
Cycles created later are still collected; the frozen objects live as long as the process does,
which they would anyway.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once, then exempt every surviving object from later collections (call once started)."""
    gc.collect()
    gc.freeze()
