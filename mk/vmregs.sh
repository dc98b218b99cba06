#!/bin/bash
# mk/vmregs.sh NAME [SYMBOLS]: the registers of every CPU of the running
# test machine NAME (make check: check, make soak: soak), from its QEMU
# monitor, with each CPU's RIP resolved against build/obj-test/vmlinux (or
# SYMBOLS).  For a test machine that stopped answering: which code each
# CPU is stuck in, even one that no longer takes NMIs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mon=$top/build/results/$1.mon
vmlinux=${2:-$top/build/obj-test/vmlinux}
[ -S "$mon" ] || { echo "vmregs: no monitor socket at $mon" >&2; exit 1; }
python3 - "$mon" <<'PY' | tee "$top/build/results/$1-regs.txt"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(2)
def cmd(c):
    s.sendall((c + "\n").encode())
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        out += d
    return out.decode(errors="replace")
cmd("")
print(cmd("info registers -a"))
PY
grep -oE 'RIP=[0-9a-f]+' "$top/build/results/$1-regs.txt" | cut -d= -f2 | while read -r rip; do
	echo "RIP $rip: $(addr2line -f -i -e "$vmlinux" "0x$rip" | paste -sd' ')"
done
