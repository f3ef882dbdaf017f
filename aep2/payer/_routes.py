"""What the payer knows about the routes it paid: enough to pay the next call on its first request.

A payee quotes a route's terms in its 402 (payee, token, price, escrow, deadline horizon, kinds);
only ``extra.ref`` (the call) and ``extra.nonceFloor`` (our journal, as the payee saw it) change
from call to call. A transport that can compute its own call's ref keeps the rest here, keyed by a
route name of its own (``Aep2Auth``: the method and the URL without its query), sends the mandate
with the first request next time, and forgets the route when the payee answers that with a 402.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

PER_CALL = ("ref", "nonceFloor")
"""``extra`` fields that belong to one call or one moment, never kept."""


class RouteCache:
    """The last ``PaymentRequirements`` seen per route (thread-safe, the ``size`` most recent)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._routes: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, route: str, requirement: Mapping[str, Any]) -> None:
        """Keep ``requirement`` (camelCase JSON, scheme ``aep2``) as ``route``'s terms."""
        terms = copy.deepcopy(dict(requirement))
        extra = dict(terms.get("extra") or {})
        for name in PER_CALL:
            extra.pop(name, None)
        terms["extra"] = extra
        with self._lock:
            self._routes[route] = terms
            self._routes.move_to_end(route)
            while len(self._routes) > self.size:
                self._routes.popitem(last=False)

    def terms(self, route: str, ref: bytes) -> dict[str, Any] | None:
        """``route``'s requirement for the call whose ref is ``ref``, if the route is known."""
        with self._lock:
            terms = self._routes.get(route)
        if terms is None:
            return None
        requirement = copy.deepcopy(terms)
        requirement["extra"]["ref"] = "0x" + ref.hex()
        return requirement

    def forget(self, route: str) -> None:
        with self._lock:
            self._routes.pop(route, None)

    def __contains__(self, route: object) -> bool:
        with self._lock:
            return route in self._routes
