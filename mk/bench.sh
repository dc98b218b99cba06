#!/bin/bash
# mk/bench.sh: `make bench`.  Boots the `bench` kernel (no debugging) once
# and runs ioregion_bench there: every MMIO path side by side in one boot.
# Keeps build/results/bench.{out,json,dat,svg}, and ioregion_lat.txt: the
# BPF tool's histograms over a second, short run of the ioregionfd modes.
# Then multi-process QEMU's register-read latency with and without
# ioregionfd=on, into bench.json (ratio "qemu_ioregionfd/qemu_proxy").
# Never fails on a missed target: performance is judged by reading the
# numbers, not by this exit code.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
results=$top/build/results
"$top/mk/deps.sh" gnuplot-nox
"$top/mk/kernel.sh" bench
"$top/mk/selftests.sh" bench
"$top/mk/vm.sh" bench bench "/tests/bench-run.sh ${BENCH_ARGS:-}"

out=$results/bench.out
accel=$(cat "$results/accel-bench.txt")
sed -n '/^@@JSON-BEGIN/,/^@@JSON-END/p' "$out" | sed '1d;$d' |
	sed "s/\"accel\": \"unknown\"/\"accel\": \"$accel\"/" >"$results/bench.json"
sed -n '/^@@DAT-BEGIN/,/^@@DAT-END/p' "$out" | sed '1d;$d' >"$results/bench.dat"
sed -n '/^@@LAT-BEGIN/,/^@@LAT-END/p' "$out" | sed '1d;$d' >"$results/ioregion_lat.txt"
[ -s "$results/bench.json" ] || { echo "bench: no results in $out" >&2; exit 1; }
# Multi-process QEMU: median guest-side latency of one register read on the
# proxied lsi53c895a, through QEMU (ioregionfd=off) and through ioregionfd.
sed -n '/^@@QEMU-BEGIN/,/^@@QEMU-END/p' "$out" | sed -n 's/^@@QEMU //p' >"$results/qemu.txt"
python3 - "$results/bench.json" "$results/qemu.txt" <<'PY'
import json, sys
path, qemu = sys.argv[1], sys.argv[2]
d = json.load(open(path))
lat = dict(l.split() for l in open(qemu) if len(l.split()) == 2)
off, on = int(lat.get("off", 0)), int(lat.get("on", 0))
d["qemu_register_read_ns"] = {"qemu_proxy": off or None, "qemu_ioregionfd": on or None}
d["ratios"]["qemu_ioregionfd/qemu_proxy"] = round(on / off, 3) if on and off else None
json.dump(d, open(path, "w"), indent=2)
print(">> multi-process QEMU, guest register read (median ns): through QEMU %s, "
      "ioregionfd %s, ratio %s" % (off or "n/a", on or "n/a",
      d["ratios"]["qemu_ioregionfd/qemu_proxy"]))
PY
gnuplot -e "dat='$results/bench.dat'; svg='$results/bench.svg'; accel='$accel'" \
	"$top/mk/bench.gp"
echo ">> ioregion_lat over the ioregionfd modes (build/results/ioregion_lat.txt):"
cat "$results/ioregion_lat.txt"
echo ">> build/results/bench.json, bench.svg (accel: $accel; under tcg compare ratios, not times)"
