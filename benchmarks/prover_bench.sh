#!/usr/bin/env bash
# Measure aep2-prover per circuit size: constraints, dev setup seconds and peak
# memory, proving seconds (per batch and per mandate) and peak memory,
# proving-key size. Keys go to a scratch AEP2_HOME (or $AEP2_BENCH_HOME), never to ~/.aep2.
#
#   benchmarks/prover_bench.sh "1x1 2x1"      # sizes as NxP
#   AEP2_BENCH_FAMILY=agent benchmarks/prover_bench.sh "64x8 128x16"   # the agent family
#
# Merges one object per size into benchmarks/results/prover.json (other sizes
# already there are kept) after each size, so a long run keeps what it measured.
# Setup at N=1 already takes minutes on two cores; larger sizes scale with N.
# CPU seconds (user + system) are recorded beside wall seconds: on a shared
# machine they are the steadier figure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin/aep2-prover"
(cd "$root/circuits" && go build -o "$bin" ./cmd/aep2-prover)
sizes=${1:-"1x1"}
family=${AEP2_BENCH_FAMILY:-batch}
# AEP2_BENCH_HOME keeps the keys (to export and measure a verifier at that size);
# by default they go to a scratch directory removed at the end.
if [[ -n "${AEP2_BENCH_HOME:-}" ]]; then
  home=$AEP2_BENCH_HOME; mkdir -p "$home"
else
  home=$(mktemp -d "${TMPDIR:-/tmp}/aep2-bench.XXXXXX")
  trap 'rm -rf "$home"' EXIT
fi
out="$root/benchmarks/results/prover.json"
mkdir -p "$(dirname "$out")"

# timed CMD...: runs CMD under GNU time, prints "wall_s max_rss_kb cpu_user_s cpu_sys_s" to fd 3
timed() {
  /usr/bin/time -f "%e %M %U %S" -o "$home/time" "$@"
  cat "$home/time" >&3
}

for size in $sizes; do
  n=${size%x*} p=${size#*x}
  flags=(--home "$home" --family "$family" --n "$n" --p "$p")
  exec 3>"$home/setup.t"; timed "$bin" setup --dev "${flags[@]}" >"$home/setup.json" 2>/dev/null; exec 3>&-
  "$bin" dev-request "${flags[@]}" >"$home/req.json"
  exec 3>"$home/prove.t"; timed "$bin" prove "${flags[@]}" --in "$home/req.json" --out "$home/proof.json"; exec 3>&-
  "$bin" verify "${flags[@]}" --proof "$home/proof.json" >/dev/null
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["circuitId"])' "$home/setup.json")
  pk_bytes=$(stat -c %s "$home/circuits/$id/proving.key")
  python3 - "$home" "$n" "$p" "$pk_bytes" "$out" "$family" <<'PY'
import json, os, sys
home, n, p, pk, out, family = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
setup = json.load(open(f"{home}/setup.json"))
sw, sm, su, ss = open(f"{home}/setup.t").read().split()
pw, pm, pu, ps = open(f"{home}/prove.t").read().split()
row = {
    "circuitId": setup["circuitId"], "family": family, "n": n, "p": p,
    "constraints": setup["info"]["constraints"],
    "constraintsPerMandate": setup["info"]["constraints"] // n,
    "compileSeconds": round(setup["compileSeconds"], 1), "setupSeconds": round(setup["setupSeconds"], 1),
    "setupCpuSeconds": round(float(su) + float(ss), 1), "setupPeakRssMiB": int(sm) // 1024,
    "proveSeconds": float(pw), "proveSecondsPerMandate": round(float(pw) / n, 3),
    "proveCpuSeconds": round(float(pu) + float(ps), 1),
    "provePeakRssMiB": int(pm) // 1024, "provingKeyMiB": round(pk / 2**20, 1),
    "cores": os.cpu_count(),
}
rows = json.load(open(out)) if os.path.exists(out) else []
rows = sorted([r for r in rows if r["circuitId"] != row["circuitId"]] + [row], key=lambda r: (r.get("family", "batch"), r["n"], r["p"]))
with open(out, "w") as f:
    json.dump(rows, f, indent=2)
    f.write("\n")
print(json.dumps(row))
PY
done
