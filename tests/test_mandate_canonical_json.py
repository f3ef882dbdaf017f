"""``canonical_json`` (one encoder built once) writes exactly what ``json.dumps`` with the canonical
options writes, for any object of strings: a mandate has one spelling on the wire."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from aep2.mandate import canonical_json


def _reference(obj: dict[str, str]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@settings(max_examples=300)
@given(st.dictionaries(st.text(), st.text(), max_size=14))
def test_canonical_json_is_json_dumps_with_the_canonical_options(obj: dict[str, str]) -> None:
    assert canonical_json(obj) == _reference(obj)
    assert canonical_json(obj) == canonical_json(dict(reversed(obj.items())))  # order is not spelled
