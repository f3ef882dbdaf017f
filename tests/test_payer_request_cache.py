"""Reading a requirement remembers the addresses and networks that passed, never one that failed."""

from __future__ import annotations

from typing import Any

import pytest

from aep2.errors import PaymentRequestError
from aep2.payer import parse_requirement
from tests.conftest import PAYEE, TOKEN, aep2_requirement


@pytest.mark.parametrize(
    ("field", "bad"),
    [("payTo", "0x" + "zz" * 20), ("payTo", PAYEE[:-1]), ("payTo", 7), ("asset", None), ("asset", ["0x"]),
     ("network", "eip155:x"), ("network", "solana:1"), ("network", None)],
)  # fmt: skip
def test_a_refused_field_is_refused_every_time(field: str, bad: Any) -> None:
    assert parse_requirement(aep2_requirement()).payee == PAYEE  # the good values, remembered
    for _ in range(2):
        with pytest.raises(PaymentRequestError):
            parse_requirement(aep2_requirement(**{field: bad}))
    request = parse_requirement(aep2_requirement())
    assert (request.payee, request.token, request.chain_id) == (PAYEE, TOKEN, 31337)


def test_any_spelling_of_an_address_reads_checksummed() -> None:
    for spelling in (PAYEE.lower(), "0x" + PAYEE[2:].upper(), PAYEE):
        assert parse_requirement(aep2_requirement(payTo=spelling)).payee == PAYEE
