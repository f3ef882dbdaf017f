"""Baby Jubjub: the twisted Edwards curve ``a·x² + y² = 1 + d·x²·y²`` over BN254's scalar field.

The constants are gnark-crypto's (``ecc/bn254/twistededwards/curve.go``, v0.21.0,
``initCurveParams``): ``a = -1``, its ``d``, base point ``B``, prime subgroup order ``l`` and
cofactor 8. The arithmetic is the textbook affine one (Bernstein, Birkner, Joye, Lange, Peters,
"Twisted Edwards curves", eprint 2008/013): complete because ``a`` is a square and ``d`` is
not, so the formulas need no special cases. Compression follows RFC 8032 §3.1 as
``docs/agent-keys.md`` pins it: ``Y`` little-endian with the top bit of the last byte set iff
``X > (r - 1)/2``.

Where gnark-crypto's decoder differs from a strict reading of RFC 8032 (its
``PointAffine.SetBytes`` reduces ``Y`` mod ``r`` instead of rejecting ``Y ≥ r``, and never
rejects an ``X = 0`` with the sign bit set), :func:`decompress` is strict and says so with
:class:`PointError` reasons; ``tests/vectors/agent_mandates.json`` records the cases.
"""

from __future__ import annotations

from typing import NamedTuple

from tests.reference.poseidon2 import R

A = R - 1
D = 12181644023421730124874158521699555681764249180949974110617291017600649128846
ORDER = 2736030358979909402780800718157159386076813972158567259200215660948447373041
COFACTOR = 8
HALF = (R - 1) // 2


class Point(NamedTuple):
    x: int
    y: int


IDENTITY = Point(0, 1)
BASE = Point(
    9671717474070082183213120605117400219616337014328744928644933853176787189663,
    16950150798460657717958625567821834550301663161624707787222815936182638968203,
)


class PointError(ValueError):
    """A 32-byte encoding that is no acceptable point; ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def is_on_curve(p: Point) -> bool:
    x2, y2 = p.x * p.x % R, p.y * p.y % R
    return (A * x2 + y2 - 1 - D * x2 * y2) % R == 0


def add(p: Point, q: Point) -> Point:
    """The unified twisted Edwards addition (also doubles)."""
    t = D * p.x * q.x * p.y * q.y % R
    x = (p.x * q.y + p.y * q.x) * pow(1 + t, -1, R) % R
    y = (p.y * q.y - A * p.x * q.x) * pow(1 - t, -1, R) % R
    return Point(x, y)


def double(p: Point) -> Point:
    return add(p, p)


def neg(p: Point) -> Point:
    return Point(-p.x % R, p.y)


def mul(k: int, p: Point) -> Point:
    """``[k]·p`` by double-and-add over ``k``'s bits (``k ≥ 0``, not reduced)."""
    if k < 0:
        return mul(-k, neg(p))
    result = IDENTITY
    for bit in bin(k)[2:]:
        result = double(result)
        if bit == "1":
            result = add(result, p)
    return result


def in_prime_subgroup(p: Point) -> bool:
    """On the curve and killed by ``l`` (the identity included)."""
    return is_on_curve(p) and mul(ORDER, p) == IDENTITY


def is_negative(x: int) -> bool:
    """RFC 8032's sign: ``x`` is lexicographically larger than ``-x``."""
    return x > HALF


def compress(p: Point) -> bytes:
    out = bytearray(p.y.to_bytes(32, "little"))
    if is_negative(p.x):
        out[31] |= 0x80
    return bytes(out)


def sqrt(v: int) -> int | None:
    """A square root mod ``r`` by Tonelli-Shanks, or None when ``v`` is not a square."""
    v %= R
    if v == 0:
        return 0
    if pow(v, HALF, R) != 1:
        return None
    q, s = R - 1, 0
    while q % 2 == 0:
        q, s = q // 2, s + 1
    z = next(c for c in range(2, 100) if pow(c, HALF, R) == R - 1)
    m, c, t, root = s, pow(z, q, R), pow(v, q, R), pow(v, (q + 1) // 2, R)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2, i = t2 * t2 % R, i + 1
        b = pow(c, 1 << (m - i - 1), R)
        m, c, t, root = i, b * b % R, t * b * b % R, root * b % R
    return root


def decompress(data: bytes) -> Point:
    """The point a 32-byte compressed encoding names, checked to be on the curve.

    Strict: ``Y`` must be below ``r`` (``NOT_CANONICAL``), the ``X`` it implies must exist
    (``NOT_ON_CURVE``), and the sign bit may not be set when ``X = 0`` (``NOT_CANONICAL``).
    Subgroup membership is the caller's check.
    """
    if len(data) != 32:
        raise PointError("WRONG_SIZE", f"a compressed point is 32 bytes, got {len(data)}")
    negative = bool(data[31] & 0x80)
    y = int.from_bytes(data[:31] + bytes([data[31] & 0x7F]), "little")
    if y >= R:
        raise PointError("NOT_CANONICAL", f"Y = {y} is not below r")
    y2 = y * y % R
    x = sqrt((1 - y2) * pow(A - D * y2, -1, R))
    if x is None:
        raise PointError("NOT_ON_CURVE", f"no X satisfies the curve equation for Y = {y}")
    if x == 0 and negative:
        raise PointError("NOT_CANONICAL", "the sign bit is set on X = 0")
    if is_negative(x) != negative:
        x = R - x
    return Point(x, y)


def small_order_point() -> Point:
    """A point of order 8 (it generates the torsion that the cofactor kills)."""
    for y in range(2, 1000):
        try:
            p = decompress(y.to_bytes(32, "little"))
        except PointError:
            continue
        torsion = mul(ORDER, p)
        if torsion != IDENTITY and mul(4, torsion) != IDENTITY:
            return torsion
    raise AssertionError("no point of order 8 found")  # unreachable: the curve has one
