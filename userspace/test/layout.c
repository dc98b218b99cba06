// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The VMM's defences against what a device proposes, without KVM: one
 * test per bad layout and per malformed control message, each expecting
 * its specific error and leaving no file descriptor behind; the VMM calls'
 * argument checks; the uAPI copy the library carries for distribution
 * headers.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/internal.h"
#include "tap.h"

static const struct ioregion_grant mmio = {
	.base = 0xc0000000, .size = 0x2000, .flags = IOREGION_GRANT_POSTED,
};
static const struct ioregion_grant pio = { .base = 0x3f8, .size = 8, .flags = IOREGION_GRANT_PIO };

static struct ioregion_layout one(uint64_t offset, uint64_t size, uint32_t flags)
{
	return (struct ioregion_layout){
		.nr = 1, .e[0] = { .offset = offset, .size = size, .flags = flags },
	};
}

static void layouts(void)
{
	struct ioregion_grant g;
	struct ioregion_layout l;
	int i;

	l = one(0, 0x1000, 0);
	l.e[1] = (struct ioregion_layout_entry){ 0x1000, 0x1000, 7, IOREGION_LAYOUT_POSTED, 0 };
	l.e[2] = (struct ioregion_layout_entry){ 0x1ffc, 0, 8, IOREGION_LAYOUT_POSTED, 0 };
	l.nr = 2;
	tap_expect(ioregion_check_layout(&mmio, &l), 0, "two adjacent MMIO regions, one posted");
	l.nr = 3;
	l.e[1].size = 0xffc;
	tap_expect(ioregion_check_layout(&mmio, &l), 0, "a doorbell after them");
	l = one(0, 8, IOREGION_LAYOUT_PIO);
	tap_expect(ioregion_check_layout(&pio, &l), 0, "the whole PIO grant");

	l = one(0, 8, 0);
	tap_expect(ioregion_check_layout(&pio, &l), -EPERM, "MMIO region in a PIO grant");
	l = one(0, 8, IOREGION_LAYOUT_PIO);
	tap_expect(ioregion_check_layout(&mmio, &l), -EPERM, "PIO region in an MMIO grant");
	l = one(0, 8, IOREGION_LAYOUT_PIO | IOREGION_LAYOUT_POSTED);
	tap_expect(ioregion_check_layout(&pio, &l), -EPERM, "posted writes not granted");
	l = one(0, 0, IOREGION_LAYOUT_POSTED | IOREGION_LAYOUT_PIO);
	g = pio;
	g.flags |= IOREGION_GRANT_POSTED;
	tap_expect(ioregion_check_layout(&g, &l), -EINVAL, "a PIO doorbell");
	l = one(0, 0, 0);
	tap_expect(ioregion_check_layout(&mmio, &l), -EINVAL, "a doorbell without posted writes");
	l = one(0x1000, 0x1001, 0);
	tap_expect(ioregion_check_layout(&mmio, &l), -ERANGE, "one byte past the grant");
	l = one(0x2000, 0, IOREGION_LAYOUT_POSTED);
	tap_expect(ioregion_check_layout(&mmio, &l), -ERANGE, "a doorbell at the grant's end");
	l = one(~0ull - 3, 8, 0);
	tap_expect(ioregion_check_layout(&mmio, &l), -EOVERFLOW, "offset + size wraps");
	g = mmio;
	g.size = 1ull << 40;
	l = one(0, 1ull << 31, 0);
	tap_expect(ioregion_check_layout(&g, &l), -EFBIG, "a region over KVM's 2 GiB limit");
	l = one(0, 0x1000, 0);
	l.e[1] = (struct ioregion_layout_entry){ 0xffc, 8, 0, 0, 0 };
	l.nr = 2;
	tap_expect(ioregion_check_layout(&mmio, &l), -EEXIST, "overlapping regions");
	l.e[1] = (struct ioregion_layout_entry){ 0x10, 0, 0, IOREGION_LAYOUT_POSTED, 0 };
	tap_expect(ioregion_check_layout(&mmio, &l), -EEXIST, "a doorbell inside a region");
	l = one(0, 4, 1u << 2);
	tap_expect(ioregion_check_layout(&mmio, &l), -EINVAL, "unknown entry flag");
	l = one(0, 4, 0);
	l.e[0].reserved = 1;
	tap_expect(ioregion_check_layout(&mmio, &l), -EINVAL, "entry reserved field set");
	l.e[0].reserved = 0;
	l.reserved = 1;
	tap_expect(ioregion_check_layout(&mmio, &l), -EINVAL, "layout reserved field set");
	l.reserved = 0;
	l.nr = 0;
	tap_expect(ioregion_check_layout(&mmio, &l), -EINVAL, "no regions");
	l.nr = IOREGION_LAYOUT_MAX + 1;
	tap_expect(ioregion_check_layout(&mmio, &l), -E2BIG, "more than IOREGION_LAYOUT_MAX");
	l = one(0, 4, 0);
	g = mmio;
	g.flags |= 1u << 5;
	tap_expect(ioregion_check_layout(&g, &l), -EINVAL, "grant: unknown flag");
	g = mmio;
	g.size = 0;
	tap_expect(ioregion_check_layout(&g, &l), -EINVAL, "grant: empty");
	g.base = ~0ull - 0xfff;
	g.size = 0x2000;
	tap_expect(ioregion_check_layout(&g, &l), -EINVAL, "grant: wraps");
	g = pio;
	g.base = 0xfffc;
	l = one(0, 4, IOREGION_LAYOUT_PIO);
	tap_expect(ioregion_check_layout(&g, &l), -EINVAL, "grant: ports past 0xffff");
	tap_expect(ioregion_check_layout(NULL, &l), -EINVAL, "no grant");
	/* Every slot, each a single register. */
	l.nr = IOREGION_LAYOUT_MAX;
	for (i = 0; i < IOREGION_LAYOUT_MAX; i++)
		l.e[i] = (struct ioregion_layout_entry){ .offset = 4 * i, .size = 4 };
	tap_expect(ioregion_check_layout(&mmio, &l), 0, "IOREGION_LAYOUT_MAX regions");
}

/* Open descriptors, to show that a refused message leaves none behind. */
static int nr_open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 256; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void send_raw(int fd, const void *buf, size_t len, const int *fds, int nr)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nr) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nr);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nr);
	}
	if (sendmsg(fd, &mh, 0) != (ssize_t)len)
		tap_ok(0, "sendmsg: %s", strerror(errno));
}

/*
 * What ioregion_propose() puts on the wire, spelled out here rather than
 * taken from the library: version 1 of the control protocol, 528 bytes,
 * whatever struct ioregion_layout becomes.
 */
struct raw_proposal {
	uint32_t magic;
	uint16_t version, kind;
	uint32_t nr, reserved;
	struct {
		uint64_t offset, size, user_data;
		uint32_t flags, reserved;
	} e[16];
};

_Static_assert(sizeof(struct raw_proposal) == 528, "proposal size");

#define MAGIC 0x494f524cu

static void bad_proposal(int ctl[2], const void *msg, size_t len, int nr_fds,
			 int want, const char *what)
{
	int fds[4], got_fd = -1, before, sv[2];
	struct ioregion_layout l;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	for (int i = 0; i < nr_fds; i++)
		fds[i] = sv[i & 1];
	before = nr_open_fds();
	send_raw(ctl[1], msg, len, fds, nr_fds);
	tap_expect(ioregion_recv_proposal(ctl[0], &l, &got_fd), want, what);
	tap_ok(nr_open_fds() == before && got_fd == -1,
	       "%s: no descriptor kept (%d open, %d before)", what, nr_open_fds(), before);
	close(sv[0]);
	close(sv[1]);
}

static void reap_child(const char *what)
{
	int st = 0;

	wait(&st);
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s (status 0x%x)", what, st);
}

static void control(void)
{
	struct raw_proposal p = { MAGIC, 1, 1, 1, 0, { { 0, 4, 0, 0, 0 } } };
	struct ioregion_layout small = one(0, 4, 0);
	int ctl[2], sv[2], pipefd[2], fds[IOREGION_REPLY_MAX_FDS], nr, kfd;
	struct ioregion_layout l;
	char big[sizeof(p) + 8] = { 0 };
	uint32_t reply[4];

	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl);
	bad_proposal(ctl, &p, sizeof(p) - 1, 1, -EBADMSG, "proposal one byte short");
	memcpy(big, &p, sizeof(p));
	bad_proposal(ctl, big, sizeof(big), 1, -EBADMSG, "proposal 8 bytes long");
	p.magic = 0;
	bad_proposal(ctl, &p, sizeof(p), 1, -EPROTO, "proposal with a bad magic");
	p.magic = MAGIC;
	p.kind = 2;
	bad_proposal(ctl, &p, sizeof(p), 1, -EPROTO, "a reply where a proposal belongs");
	p.kind = 1;
	p.version = 2;
	bad_proposal(ctl, &p, sizeof(p), 1, -EPROTONOSUPPORT, "proposal version 2");
	p.version = 1;
	bad_proposal(ctl, &p, sizeof(p), 0, -EBADMSG, "proposal without a socket");
	bad_proposal(ctl, &p, sizeof(p), 2, -EBADMSG, "proposal with two sockets");
	p.nr = 17;
	bad_proposal(ctl, &p, sizeof(p), 1, -E2BIG, "proposal claiming 17 entries");
	p.nr = 1;

	/* A pipe is not a socket KVM can both read and write. */
	pipe(pipefd);
	send_raw(ctl[1], &p, sizeof(p), pipefd, 1);
	tap_expect(ioregion_recv_proposal(ctl[0], &l, &kfd), -ENOTSOCK, "proposal with a pipe");
	close(pipefd[0]);
	close(pipefd[1]);

	/* A good round trip: layout and socket across, two eventfds back. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	if (fork() == 0) {
		struct ioregion_layout mine = one(0, 8, IOREGION_LAYOUT_PIO);

		nr = IOREGION_REPLY_MAX_FDS;
		_exit(ioregion_propose(ctl[1], &mine, sv[1], fds, &nr) == 0 && nr == 2 &&
		      write(fds[1], "x", 1) == 1 ? 0 : 1);
	}
	tap_expect(ioregion_recv_proposal(ctl[0], &l, &kfd), 0, "proposal received");
	tap_ok(l.nr == 1 && l.e[0].size == 8 && l.e[0].flags == IOREGION_LAYOUT_PIO &&
	       ioregion_check_layout(&pio, &l) == 0, "the layout arrives intact and passes");
	pipe(pipefd);
	fds[0] = sv[0];
	fds[1] = pipefd[1];
	tap_expect(ioregion_reply(ctl[0], 0, fds, 2), 0, "reply with two descriptors");
	tap_ok(read(pipefd[0], big, 1) == 1, "the device wrote to a descriptor it was sent");
	reap_child("the device took the reply and its descriptors");
	close(kfd);
	close(pipefd[0]);
	close(pipefd[1]);

	/* The device sees the VMM's refusal as the errno. */
	if (fork() == 0) {
		struct ioregion_layout mine = one(0, 8, 0);

		nr = IOREGION_REPLY_MAX_FDS;
		_exit(ioregion_propose(ctl[1], &mine, sv[1], fds, &nr) == -EPERM ? 0 : 1);
	}
	tap_expect(ioregion_recv_proposal(ctl[0], &l, &kfd), 0, "second proposal received");
	tap_expect(ioregion_reply(ctl[0], ioregion_check_layout(&pio, &l), NULL, 0), 0,
		   "reply with the refusal");
	reap_child("the device got -EPERM from ioregion_propose()");
	close(kfd);

	/* Malformed replies, seen by the device. */
	tap_expect(ioregion_reply(ctl[0], 1, NULL, 0), -EINVAL, "reply: positive status");
	tap_expect(ioregion_reply(ctl[0], 0, fds, IOREGION_REPLY_MAX_FDS + 1), -EINVAL,
		   "reply: too many descriptors");
	tap_expect(ioregion_reply(ctl[0], -EPERM, fds, 1), -EINVAL,
		   "reply: descriptors with a refusal");
	reply[0] = MAGIC;
	reply[1] = 1 | 2 << 16;
	reply[2] = 0;
	reply[3] = 3;	/* says 3 descriptors, carries none */
	send_raw(ctl[0], reply, sizeof(reply), NULL, 0);
	nr = IOREGION_REPLY_MAX_FDS;
	tap_expect(ioregion_propose(ctl[1], &small, sv[1], fds, &nr), -EBADMSG,
		   "reply: descriptor count does not match");
	recv(ctl[0], big, sizeof(big), 0);	/* the proposal that went out */
	reply[3] = 1;
	send_raw(ctl[0], reply, sizeof(reply), &sv[0], 1);
	nr = 0;
	tap_expect(ioregion_propose(ctl[1], &small, sv[1], fds, &nr), -ENOBUFS,
		   "reply: more descriptors than the caller has room for");
	recv(ctl[0], big, sizeof(big), 0);
	tap_expect(ioregion_propose(ctl[1], &small, pipefd[0], fds, &nr), -EBADF,
		   "propose a closed descriptor");
	l = small;
	l.nr = IOREGION_LAYOUT_MAX + 1;
	tap_expect(ioregion_propose(ctl[1], &l, sv[1], fds, &nr), -E2BIG,
		   "propose more entries than a layout holds");
	close(ctl[0]);
	nr = IOREGION_REPLY_MAX_FDS;
	tap_expect(ioregion_propose(ctl[1], &small, sv[1], fds, &nr), -EPIPE,
		   "propose to a VMM that has gone");
	close(ctl[1]);
	close(sv[0]);
	close(sv[1]);
}

static void vmm_args(void)
{
	struct ioregion_layout l = one(0, 8, 0);
	struct ioregion_routes *rt;
	int sv[2], a, b;
	uint64_t f;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	tap_expect(ioregion_probe(sv[0], &f), -ENOTTY, "probe a file that is not KVM");
	tap_expect(ioregion_bind(sv[0], &pio, &l, sv[1]), -EPERM,
		   "bind checks the layout before any ioctl");
	l.e[0].flags = IOREGION_LAYOUT_PIO;
	tap_expect(ioregion_bind(sv[0], &pio, &l, sv[1]), -ENOTTY,
		   "bind on a file that is not a VM");
	tap_expect(ioregion_unbind(sv[0], &mmio, &l), -EPERM, "unbind checks the layout too");
	tap_expect(ioregion_routes_create(&rt, sv[0], 1u << 1), -EINVAL,
		   "routes: unknown flag");
	tap_expect(ioregion_routes_create(&rt, sv[0], IOREGION_ROUTES_IRQCHIP), 0,
		   "routes: created");
	tap_expect(ioregion_irq_msi(rt, 3, 0xfee00000, 0x40, &a), -EBUSY,
		   "MSI on an IOAPIC pin");
	tap_expect(ioregion_irq_msi(rt, 40, 0xfee00000, 0x40, &a), -ENOTTY,
		   "MSI on a file that is not a VM");
	ioregion_routes_destroy(rt);
	tap_expect(ioregion_irq_intx(sv[0], 5, &a, NULL), -EINVAL, "INTx without a resamplefd");
	b = nr_open_fds();
	tap_expect(ioregion_irq_intx(sv[0], 5, &a, &a), -ENOTTY, "INTx on a file that is not a VM");
	tap_ok(nr_open_fds() == b, "no eventfd left behind by a failed INTx");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	layouts();
	control();
	vmm_args();
	/* The copy of the uAPI in internal.h, for distribution headers. */
	tap_ok(KVM_SET_IOREGION == 0x4048aed6 && sizeof(struct kvm_ioregion) == 72 &&
	       KVM_CAP_IOREGIONFD == 252 && KVM_IOREGION_DEASSIGN == 4,
	       "the library's KVM_SET_IOREGION is the kernel's");
	tap_ok(KVM_CREATE_IOREGION_GROUP == 0x4020aed7 &&
	       sizeof(struct kvm_ioregion_group) == 32 && KVM_IOREGION_GROUP == 8 &&
	       offsetof(struct kvm_ioregion, group_fd) == 40 &&
	       offsetof(struct kvm_ioregion, shadow_offset) == 48,
	       "the library's ordering groups are the kernel's");
	return tap_done();
}
