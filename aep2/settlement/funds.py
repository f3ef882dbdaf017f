"""What the escrow can debit each payer in the next window: free balances and reservations.

A requested withdrawal stays debitable until executed, so it is budgeted in full (leaving it
out would defer the very mandates the payer owes until the withdrawal empties the account);
instead a payer with a pending withdrawal is settled first. A reservation is debited before
the free balance, by its own payee's pairs only, exactly as ``Escrow._settlePair`` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aep2.chain.escrow import EscrowClient

Spend = tuple[str, str, str, int]  # (payer, payee, token, amount)


@dataclass(frozen=True)
class Funds:
    """Debitable amounts not yet spoken for by mandates already in flight."""

    free: Mapping[tuple[str, str], int]  # (payer, token)
    reserved: Mapping[tuple[str, str, str], int]  # (payer, payee, token)
    leaving_at: Mapping[tuple[str, str], int]  # (payer, token) -> readyAt of a pending withdrawal


def read_funds(
    escrow: EscrowClient, pairs: Iterable[tuple[str, str, str]], in_flight: Iterable[Spend]
) -> Funds:
    """Read the chain for the (payer, payee, token) triples about to be planned, minus ``in_flight``."""
    planned = set(pairs)
    # only the in-flight spends of payers being planned: nobody else's funds are read
    planned_payers = {(payer, token) for payer, _, token in planned}
    flying = [spend for spend in in_flight if (spend[0], spend[2]) in planned_payers]
    triples = planned | {(payer, payee, token) for payer, payee, token, _ in flying}
    payers = {(payer, token) for payer, _, token in triples}
    free = {key: escrow.balance(*key) for key in payers}
    reserved = {t: escrow.reservation(*t) for t in triples}
    leaving_at = {}
    for key in payers:
        pending = escrow.pending_withdrawal(*key)
        if pending.amount:
            leaving_at[key] = pending.ready_at
    spent: dict[tuple[str, str, str], int] = defaultdict(int)
    for payer, payee, token, amount in flying:
        spent[(payer, payee, token)] += amount
    for (payer, payee, token), amount in spent.items():
        from_reserved = min(amount, reserved[(payer, payee, token)])
        reserved[(payer, payee, token)] -= from_reserved
        free[(payer, token)] = max(0, free[(payer, token)] - (amount - from_reserved))
    return Funds(free, reserved, leaving_at)
