"""aep2: per-call payments for AI agents, settled in batches by one Groth16 proof."""

import importlib.util
import os


def _prefer_c_keccak() -> None:
    """Have eth-hash use pysha3's C keccak (``safe-pysha3``) unless the user chose a backend.

    eth-hash otherwise picks pycryptodome, whose Python wrapper costs ~18 µs a hash (pysha3:
    ~1 µs); mandate digests, checksummed addresses and receipts hash about eight times per paid
    call. ``ETH_HASH_BACKEND`` is eth-hash's documented switch, read on its first hash.
    """
    if "ETH_HASH_BACKEND" not in os.environ and importlib.util.find_spec("sha3") is not None:
        os.environ["ETH_HASH_BACKEND"] = "pysha3"


_prefer_c_keccak()
