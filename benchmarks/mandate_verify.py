"""Per-mandate verification cost: aep2 (coincurve) against eth_account's recovery.

    python -m benchmarks.mandate_verify [--runs N]

Writes ``benchmarks/results/mandate_verify.json`` and prints medians and p99s.
"""

from __future__ import annotations

import argparse
import platform
from dataclasses import asdict

from eth_account import Account
from eth_account.messages import encode_typed_data

from aep2.mandate import Domain, Mandate, checksum, decode, encode
from benchmarks._timing import Sample, measure, write_results

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000)
    runs = parser.parse_args().runs

    domain = Domain(chain_id=31337, escrow=checksum("0x" + "ab" * 20))
    mandate = Mandate.build(
        payer=Account.from_key(KEY).address, payee="0x" + "cd" * 20, token="0x" + "ef" * 20,
        amount=1_000, nonce=7, deadline=2_000_000_000, ref=b"\x01" * 32,
    )  # fmt: skip
    signed = mandate.sign(domain, KEY)
    header = encode(signed)
    typed = mandate.typed_data(domain)
    signable = encode_typed_data(full_message=typed)

    samples: list[Sample] = [
        measure("aep2 verify() (coincurve recover + payer check)", signed.verify, runs=runs),
        measure("aep2 decode() + verify() (header to verified)", lambda: decode(header).verify(), runs=runs),
        measure("aep2 digest() (EIP-712 hashing)", lambda: mandate.digest(domain), runs=runs),
        measure(
            "eth_account recover_message (pre-encoded)",
            lambda: Account.recover_message(signable, signature=signed.signature),
            runs=max(runs // 4, 100),
        ),
        measure(
            "eth_account encode_typed_data + recover",
            lambda: Account.recover_message(
                encode_typed_data(full_message=typed), signature=signed.signature
            ),
            runs=max(runs // 4, 100),
        ),
    ]
    ratio = samples[3].median_us / samples[0].median_us
    print(f"{'measurement':52} {'median µs':>10} {'p99 µs':>10}")
    for s in samples:
        print(f"{s.name:52} {s.median_us:10.1f} {s.p99_us:10.1f}")
    print(f"eth_account recover / aep2 verify (medians): {ratio:.1f}x")
    path = write_results(
        "mandate_verify",
        {
            "machine": platform.processor() or platform.machine(),
            "samples": [asdict(s) for s in samples],
            "ratio_eth_account_over_aep2": ratio,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
