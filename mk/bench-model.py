#!/usr/bin/env python3
"""mk/bench-model.py BENCH_JSON: what the event counts predict for a real host.

`make bench` counts, per access and per thread, the events each MMIO path
costs (VM exits, exits to userspace, system calls, context switches):
counts that do not depend on the emulator.  This prices them with
published per-event costs on real x86 hardware, two sets (a fast host and a
slow one), and writes the predicted cost of each mode and each ratio into
BENCH_JSON under "model"; then prints the table.  Under TCG the measured
times are the emulator's, so where model and measurement disagree the
model is the better guide to a real host, and the difference says what the
emulator distorts.

The per-event costs and where they come from:
  vm_exits          a VM exit handled in the kernel and the re-entry:
                    VMRUN to #VMEXIT back in KVM, 1344-1376 cycles on an
                    AMD host, in a KVM_RUN round trip timed cycle by cycle
                    on LKML in 2020-12 (a thread on SVM's VMLOAD/VMSAVE of
                    host state: lkml.iu.edu/hypermail/linux/kernel/2012.2/00527.html);
                    at 3 GHz 450 ns, and the whole KVM_RUN round trip of
                    2528-2576 cycles (850 ns) as the slow value
  userspace_exits   on top of that, leaving KVM_RUN for the VMM and coming
                    back: the ioctl's entry and exit, 576 + 576 cycles in the
                    same measurement (400 ns)
  syscalls          a null system call: 70-90 ns with mitigations=off,
                    350-450 ns with the usual Spectre/Meltdown mitigations
                    (blog.i0.pm, "the cost of a syscall, measured", 2023)
  context_switches  a thread that sleeps and is woken by another: a pipe
                    ping-pong between two processes, 4.82 us a round trip,
                    two switches, on one core of an i7 11th gen under Linux
                    6.6 (ddumbying.vercel.app/experiments/ctx-switch-overhead);
                    26.2 us a round trip with the two processes on two
                    cores of a cloud VM, the wake-up crossing CPUs
                    (sys-nthu.github.io/os25-fall/labs/pipe-pingpong.html)
Wake-ups issued are not priced on their own: the switch they cause is.

A busy-polling side makes system calls for as long as it waits; only the
ones that carry the command and the answer are on the access's path, so
the model counts at most two on such a side.  Nor does it price a polling
side's context switches: it sleeps only when the other side takes longer
than its poll budget (1 ms), which happens under TCG and should not on a
real host.

The prediction is the access's latency as the guest sees it: every
thread's events for a mode whose vCPU waits for the device, the vCPU
thread's alone for one whose vCPU does not (posted writes, ioeventfd: the
device works in parallel), and the slower side for the sustained posted
mode, whose pace is the slower of the two.
"""
import json
import sys

COSTS = {  # ns per event: (fast host, slow host)
    "vm_exits": (450, 850),
    "userspace_exits": (400, 400),
    "syscalls": (80, 400),
    "context_switches": (2410, 13100),
}
# Sides that busy-poll in each mode: their system calls are capped and
# their context switches not priced.
POLLING = {
    "forwarded_read_polling": ("vcpu", "device"),
    "ioregionfd_read_polling": ("vcpu", "device"),
    "ioregionfd_read_polling_fixed": ("vcpu", "device"),
    "forwarded_read_vmm_polling": ("vcpu",),
    "ioregionfd_read_vcpu_polling": ("vcpu",),
    "ioregionfd_read_vcpu_polling_fixed": ("vcpu",),
}
POLL_SYSCALLS = 2
# The vCPU does not wait for the device: only its own events are on the path.
ASYNC = ("forwarded_posted_write", "ioregionfd_posted_write", "ioeventfd_write")
SUSTAINED = ("ioregionfd_posted_sustained",)
# A device that sleeps on purpose before it answers: no event prices that.
UNPRICED = ("ioregionfd_read_slow_device", "ioregionfd_read_slow_device_fixed")


def side_cost(mode, side, ev, which):
    total = 0.0
    if ev:
        for name, cost in COSTS.items():
            n = ev.get(name)
            if n is None:
                continue
            if side in POLLING.get(mode, ()):
                if name == "syscalls":
                    n = min(n, POLL_SYSCALLS)
                elif name == "context_switches":
                    continue
            total += n * cost[which]
    return total


def predict(mode, events, which):
    sides = {side: side_cost(mode, side, ev, which) for side, ev in events.items()}
    if mode in ASYNC:
        return sides.get("vcpu", 0.0)
    if mode in SUSTAINED:
        return max(sides.values())
    return sum(sides.values())


def main():
    path = sys.argv[1]
    d = json.load(open(path))
    evs = d.get("events_per_access") or {}
    model = {"ns_per_access": {}, "ratios": {}, "cpu_ns_per_access_measured": {},
             "costs_ns": {k: {"fast": v[0], "slow": v[1]} for k, v in COSTS.items()},
             "sources": __doc__.split("The per-event costs and where they come from:")[1]
             .split("A busy-polling")[0].strip()}
    for mode, ev in evs.items():
        if not ev:
            continue
        cpu = [side.get("cpu_ns") for side in ev.values() if side.get("cpu_ns") is not None]
        if cpu:
            model["cpu_ns_per_access_measured"][mode] = round(sum(cpu))
        if mode in UNPRICED:
            continue
        model["ns_per_access"][mode] = {
            "fast": round(predict(mode, ev, 0)), "slow": round(predict(mode, ev, 1))}
    for name in d.get("ratios", {}):
        a, _, b = name.partition("/")
        pa, pb = model["ns_per_access"].get(a), model["ns_per_access"].get(b)
        # The sustained mode's device sleeps between writes as often as
        # the guest is slower than it: a count that depends on the emulator.
        if not pa or not pb or "sustained" in name:
            continue
        model["ratios"][name] = {k: round(pa[k] / pb[k], 3) for k in ("fast", "slow")}
    d["model"] = model
    json.dump(d, open(path, "w"), indent=2)

    print(">> cost model: event counts x published per-event costs (mk/bench-model.py)")
    print("   %-34s %9s %9s %12s" % ("mode (predicted ns)", "fast", "slow", "cpu_ns (tcg)"))
    for mode, cpu in model["cpu_ns_per_access_measured"].items():
        p = model["ns_per_access"].get(mode, {"fast": "-", "slow": "-"})
        print("   %-34s %9s %9s %12s" % (mode, p["fast"], p["slow"], cpu))
    print("   %-50s %7s %7s %9s %s" % ("ratio", "fast", "slow", "measured", "target"))
    for name, r in model["ratios"].items():
        print("   %-50s %7.3f %7.3f %9s %s" % (name, r["fast"], r["slow"],
                                              d["ratios"].get(name),
                                              d.get("targets", {}).get(name, "")))


if __name__ == "__main__":
    main()
