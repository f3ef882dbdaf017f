#!/usr/bin/env bash
# Measure aep2-prover per circuit size: constraints, dev setup seconds and peak
# memory, proving seconds (per batch and per mandate) and peak memory,
# proving-key size. Keys go to a scratch AEP2_HOME, never to ~/.aep2.
#
#   benchmarks/prover_bench.sh "1x1 2x1"      # sizes as NxP
#
# Writes benchmarks/results/prover.json (one object per size) and prints it.
# Setup at N=1 already takes minutes on two cores; larger sizes scale with N.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin/aep2-prover"
(cd "$root/circuits" && go build -o "$bin" ./cmd/aep2-prover)
sizes=${1:-"1x1"}
home=$(mktemp -d "${TMPDIR:-/tmp}/aep2-bench.XXXXXX")
trap 'rm -rf "$home"' EXIT
out="$root/benchmarks/results/prover.json"
mkdir -p "$(dirname "$out")"

# timed CMD...: runs CMD under GNU time, prints "wall_s max_rss_kb" to fd 3
timed() {
  /usr/bin/time -f "%e %M" -o "$home/time" "$@"
  cat "$home/time" >&3
}

results=()
for size in $sizes; do
  n=${size%x*} p=${size#*x}
  flags=(--home "$home" --n "$n" --p "$p")
  exec 3>"$home/setup.t"; timed "$bin" setup --dev "${flags[@]}" >"$home/setup.json" 2>/dev/null; exec 3>&-
  "$bin" dev-request "${flags[@]}" >"$home/req.json"
  exec 3>"$home/prove.t"; timed "$bin" prove "${flags[@]}" --in "$home/req.json" --out "$home/proof.json"; exec 3>&-
  "$bin" verify "${flags[@]}" --proof "$home/proof.json" >/dev/null
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["circuitId"])' "$home/setup.json")
  pk_bytes=$(stat -c %s "$home/circuits/$id/proving.key")
  results+=("$(python3 - "$home" "$n" "$p" "$pk_bytes" <<'PY'
import json, sys
home, n, p, pk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
setup = json.load(open(f"{home}/setup.json"))
sw, sm = open(f"{home}/setup.t").read().split()
pw, pm = open(f"{home}/prove.t").read().split()
print(json.dumps({
    "circuitId": setup["circuitId"], "n": n, "p": p,
    "constraints": setup["info"]["constraints"],
    "compileSeconds": round(setup["compileSeconds"], 1), "setupSeconds": round(setup["setupSeconds"], 1),
    "setupPeakRssMiB": int(sm) // 1024,
    "proveSeconds": float(pw), "proveSecondsPerMandate": round(float(pw) / n, 1),
    "provePeakRssMiB": int(pm) // 1024, "provingKeyMiB": round(pk / 2**20, 1),
}))
PY
)")
done
printf '%s\n' "${results[@]}" | python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin], indent=2))' | tee "$out"
