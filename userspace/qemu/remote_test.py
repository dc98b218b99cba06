#!/usr/bin/env python3
"""Host-side test of the remote process's ioregionfd server (QEMU series,
hw/remote/ioregionfd.c), no KVM needed: starts the patched QEMU as an
x-remote process with an lsi53c895a, plays the proxy on the proxy channel
(MPQEMU_CMD_BAR_IOREGIONFD passes the socket) and plays KVM on that socket:
valid commands, one of each malformed kind, fences, a BAR the guest has
mapped, end of file.  TAP on stdout.

    remote_test.py QEMU_BINARY
"""
import array
import os
import socket
import struct
import subprocess
import sys
import tempfile

# include/hw/remote/mpqemu-link.h: MPQemuCmd, MPQemuMsg's header
CMD_RET, CMD_PCI_CFGWRITE, CMD_PCI_CFGREAD, CMD_BAR_READ, CMD_BAR_IOREGIONFD = 1, 2, 3, 5, 8
# include/uapi/linux/ioregion.h
OP_READ, OP_WRITE, OP_FENCE, RESPONSE = 0, 1, 2, 1
ALL_ONES = (1 << 64) - 1
SCNTL0, SCRATCHR = 0x00, 0x9c   # lsi53c895a registers; SCNTL0 resets to 0xc0

n = 0
failed = 0


def result(ok, what):
    global n, failed
    n += 1
    failed += not ok
    print(("ok %d " if ok else "not ok %d ") % n + what, flush=True)


def msg(chan, cmd, data=b"", fds=()):
    """One proxy-channel message; returns the reply's u64 or None."""
    hdr = struct.pack("=iiQ", cmd, 0, len(data))
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    chan.sendmsg([hdr + data], anc)
    rep = b""
    while len(rep) < 24:
        got = chan.recv(24 - len(rep))
        if not got:
            return None
        rep += got
    cmd, _, size, val = struct.unpack("=iiQQ", rep)
    return val if cmd == CMD_RET else None


def cfg_write(chan, addr, val, length):
    return msg(chan, CMD_PCI_CFGWRITE, struct.pack("=IIi", addr, val, length))


def cfg_read(chan, addr, length):
    return msg(chan, CMD_PCI_CFGREAD, struct.pack("=IIi", addr, 0, length))


def pack_cmd(op, size, flags, tag, user_data, offset, data=0, reserved=0):
    """struct ioregionfd_cmd"""
    return struct.pack("=BBBBIQQQ", op, size, flags, reserved, tag, user_data,
                       offset, data)


class Kvm:
    """KVM's side of the ioregionfd socket."""

    def __init__(self, sock):
        self.sock = sock
        self.tag = 0

    def cmd(self, op, size, user_data, offset, data=0, flags=RESPONSE,
            reserved=0):
        self.tag += 1
        self.sock.sendall(pack_cmd(op, size, flags, self.tag, user_data, offset,
                                   data, reserved))
        if not flags & RESPONSE:
            return None
        rep = b""
        while len(rep) < 32:
            got = self.sock.recv(32 - len(rep))
            if not got:
                return None
            rep += got
        val, tag, rflags, r0, r1 = struct.unpack("=QIIQQ", rep)
        if tag != self.tag or rflags or r0 or r1:
            return ("bad response", tag, rflags)
        return val


def main():
    qemu = sys.argv[1]
    print("TAP version 13\n1..17", flush=True)
    disk = tempfile.NamedTemporaryFile()
    disk.truncate(1 << 20)
    chan, remote_end = socket.socketpair()
    proc = subprocess.Popen(
        [qemu, "-machine", "x-remote", "-accel", "qtest", "-nodefaults",
         "-display", "none", "-monitor", "none",
         "-device", "lsi53c895a,id=lsi0",
         "-drive", "id=d0,file=%s,format=raw,if=none" % disk.name,
         "-device", "scsi-hd,drive=d0,bus=lsi0.0,scsi-id=0",
         "-object", "x-remote-object,id=robj1,devid=lsi0,fd=%d"
         % remote_end.fileno()],
        pass_fds=[remote_end.fileno()], stderr=subprocess.PIPE)
    remote_end.close()
    chan.settimeout(20)

    kvm_end, dev_end = socket.socketpair()
    kvm_end.settimeout(20)
    ret = msg(chan, CMD_BAR_IOREGIONFD, fds=[dev_end.fileno()])
    dev_end.close()
    result(ret == 0, "the remote takes the ioregionfd socket (MPQEMU_CMD_BAR_IOREGIONFD -> 0)")
    extra_a, extra_b = socket.socketpair()
    ret = msg(chan, CMD_BAR_IOREGIONFD, fds=[extra_b.fileno()])
    result(ret is not None and ret != 0 and ret >= 1 << 63,
           "a second socket is refused with -errno (0x%x), the channel lives on" % (ret or 0))
    extra_a.close()
    extra_b.close()

    k = Kvm(kvm_end)
    bar1 = 1          # user_data: the BAR's number, here BAR 1 (MMIO)
    v = k.cmd(OP_READ, 1, bar1, SCNTL0)
    result(v == 0xc0, "read of SCNTL0 through BAR1 answers its reset value (0x%x)" % (v if isinstance(v, int) else -1))
    k.cmd(OP_WRITE, 4, bar1, SCRATCHR, 0x5a5aa5a5, flags=0)
    v = k.cmd(OP_READ, 4, bar1, SCRATCHR)
    result(v == 0x5a5aa5a5, "a posted 4-byte write is applied before the read behind it")
    v = k.cmd(OP_READ, 2, bar1, SCRATCHR + 2)
    result(v == 0x5a5a, "2-byte read at an offset inside the register")
    # The same register through the I/O BAR: user_data picks the BAR.
    v = k.cmd(OP_READ, 1, 0, SCRATCHR)
    result(v == 0xa5, "user_data picks the BAR: SCRATCHR's low byte through BAR0 (I/O)")
    v = k.cmd(OP_FENCE, 0, bar1, 0)
    result(v == 0, "a fence is answered with 0 and its tag")

    bad = [
        ("op 3", dict(op=3, size=4, user_data=bar1, offset=SCRATCHR)),
        ("size 3", dict(op=OP_READ, size=3, user_data=bar1, offset=SCRATCHR)),
        ("reserved byte set", dict(op=OP_READ, size=4, user_data=bar1, offset=SCRATCHR, reserved=1)),
        ("unknown flag", dict(op=OP_READ, size=4, user_data=bar1, offset=SCRATCHR, flags=RESPONSE | 4)),
        ("absent BAR 5", dict(op=OP_READ, size=4, user_data=5, offset=0)),
        ("access past the BAR's end", dict(op=OP_READ, size=4, user_data=bar1, offset=0x3fe)),
        ("user_data beyond the BAR numbers", dict(op=OP_READ, size=4, user_data=bar1 | (1 << 8), offset=SCRATCHR)),
        ("offset wrapping around", dict(op=OP_READ, size=4, user_data=bar1, offset=(1 << 64) - 2)),
    ]
    answers = [(what, k.cmd(**c)) for what, c in bad]
    wrong = [w for w, v in answers if v != ALL_ONES]
    result(not wrong, "malformed commands are answered with all ones, tag echoed: %s%s"
           % (", ".join(w for w, _ in bad), (" - WRONG: " + ", ".join(wrong)) if wrong else ""))
    v = k.cmd(OP_READ, 4, bar1, SCRATCHR)
    result(v == 0x5a5aa5a5, "the server still serves after them; none of them wrote")

    # The guest maps BAR1: the remote's copy of the BAR moves too; accesses
    # must still reach the register at the BAR offset.
    cfg_write(chan, 0x14, 0xfebfe000, 4)
    cfg_write(chan, 0x04, 0x0007, 2)
    v = cfg_read(chan, 0x14, 4)
    result(v is not None and v & ~0xf == 0xfebfe000, "BAR1 mapped at 0xfebfe000 over the proxy channel")
    v = k.cmd(OP_READ, 1, bar1, SCNTL0)
    result(v == 0xc0, "a mapped BAR is still reached at its BAR offset (0x%x)" % (v if isinstance(v, int) else -1))

    # A burst of posted writes in one go, then one read: in order, all applied.
    burst = b"".join(pack_cmd(OP_WRITE, 1, 0, 1000 + i, bar1, SCRATCHR, i & 0xff)
                     for i in range(300))
    kvm_end.sendall(burst)
    v = k.cmd(OP_READ, 1, bar1, SCRATCHR)
    result(v == 299 & 0xff, "300 posted writes sent at once are applied in order before the read")

    # Requests on the proxy channel must not pass posted writes still queued
    # on the socket: 2000 posted writes, then at once a read of the same
    # register through the channel (today's path).
    burst = b"".join(pack_cmd(OP_WRITE, 1, 0, 2000 + i, bar1, SCRATCHR, i & 0xff)
                     for i in range(2000))
    kvm_end.sendall(burst)
    v = msg(chan, CMD_BAR_READ, struct.pack("=QQI?3x", 0xfebfe000 + SCRATCHR, 0, 1, True))
    result(v == 1999 & 0xff, "a proxy-channel request waits for the posted writes queued before it "
           "(read 0x%x, last written 0x%x)" % (v if v is not None else -1, 1999 & 0xff))

    # A command split across two writes to the socket.
    k.tag += 1
    whole = pack_cmd(OP_READ, 1, RESPONSE, k.tag, bar1, SCNTL0)
    kvm_end.sendall(whole[:5])
    kvm_end.sendall(whole[5:])
    rep = kvm_end.recv(32)
    result(len(rep) == 32 and struct.unpack("=QIIQQ", rep)[:2] == (0xc0, k.tag),
           "a command split across two writes is read whole")

    kvm_end.close()
    v = cfg_read(chan, 0x00, 2)
    result(v == 0x1000, "after KVM's end closes, the proxy channel still works (vendor 0x%x)" % (v or 0))
    result(proc.poll() is None, "the remote process is still running")
    chan.close()
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "hung"
    err = proc.stderr.read().decode(errors="replace")
    for line in err.splitlines():
        print("# remote: " + line)
    result(rc == 0, "the remote exits cleanly when the proxy channel closes (%s)" % rc)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
