// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_SET_IOREGION registration: the capability, every rejection with its
 * errno and nothing left registered (not even a file reference),
 * assign/deassign/re-assign, moving a region to new files, overlap rules
 * against ioeventfd and coalesced MMIO/PIO zones in both directions, the
 * io bus limit, and VM teardown with regions still assigned.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "ioregionfd_util.h"
#include "kselftest.h"

#define GPA	0xc0000000ull
#define PORT	0x2000ull

/*
 * A rejected region must leave nothing behind: deassigning it finds none
 * (or is refused too, where no region can have those bounds).
 */
static bool nothing_at(struct kvm_vm *vm, struct kvm_ioregion r)
{
	r.flags = (r.flags & KVM_IOREGION_PIO) | KVM_IOREGION_DEASSIGN;
	memset(r.pad, 0, sizeof(r.pad));
	return __kvm_set_ioregion(vm, &r) == -1 &&
	       (errno == ENOENT || errno == EINVAL);
}

static void expect_reject(struct kvm_vm *vm, struct kvm_ioregion r, int err,
			  const char *what)
{
	int ret = __kvm_set_ioregion(vm, &r);
	int saved = errno;

	if (ret != -1 || saved != err) {
		ksft_test_result_fail("%s: KVM_SET_IOREGION returned %d errno %d (%s), not %s\n",
				      what, ret, saved, strerror(saved), strerror(err));
		/* Accepted: take it back, so that the next cases still mean something. */
		if (!ret && !(r.flags & KVM_IOREGION_DEASSIGN))
			nothing_at(vm, r);
		return;
	}
	ksft_test_result(r.flags & KVM_IOREGION_DEASSIGN || nothing_at(vm, r),
			 "%s: %s, nothing registered\n", what, strerror(err));
}

/*
 * Whether KVM holds the file of @peer's partner, whose descriptor the test
 * has closed: the peer sees end of file at once if not.
 */
static bool held(int peer)
{
	struct pollfd p = { .fd = peer, .events = POLLIN };

	return poll(&p, 1, 200) == 0;
}

static int ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, int fd,
		     uint32_t flags)
{
	struct kvm_ioeventfd e = { .addr = addr, .len = len, .fd = fd, .flags = flags };

	return __vm_ioctl(vm, KVM_IOEVENTFD, &e);
}

static int coalesced(struct kvm_vm *vm, uint64_t addr, uint32_t size,
		     bool pio, bool remove)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	return __vm_ioctl(vm, remove ? KVM_UNREGISTER_COALESCED_MMIO :
				       KVM_REGISTER_COALESCED_MMIO, &z);
}

static void test_rejections(struct kvm_vm *vm, int sock)
{
	int dgram[2], pipefd[2], efd, unconnected, other[2], closed;
	struct kvm_ioregion r;

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram), "socketpair");
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, other), "socketpair");
	TEST_ASSERT(!pipe(pipefd), "pipe");
	efd = eventfd(0, 0);
	unconnected = socket(AF_UNIX, SOCK_STREAM, 0);
	closed = dup(sock);
	close(closed);

	r = ioregion(GPA, 8, sock, sock, 1u << 31);
	expect_reject(vm, r, EINVAL, "unknown flag");
	r = ioregion(GPA, 8, sock, sock, 0);
	r.pad[15] = 1;
	expect_reject(vm, r, EINVAL, "non-zero pad");
	expect_reject(vm, ioregion(GPA, 0, sock, sock, 0), EINVAL,
		      "size 0 without posted writes");
	expect_reject(vm, ioregion(PORT, 0, sock, sock,
				   KVM_IOREGION_PIO | KVM_IOREGION_POSTED_WRITES),
		      EINVAL, "size 0 on PIO");
	expect_reject(vm, ioregion(~0ull - 7, 16, sock, sock, 0), EINVAL,
		      "range wraps around");
	expect_reject(vm, ioregion(GPA, 1ull << 31, sock, sock, 0), EINVAL,
		      "size of 2 GiB");
	expect_reject(vm, ioregion(0xfff8, 16, sock, sock, KVM_IOREGION_PIO),
		      EINVAL, "PIO past port 0xffff");
	expect_reject(vm, ioregion(GPA, 8, -1, sock, 0), EBADF, "read_fd -1");
	expect_reject(vm, ioregion(GPA, 8, sock, closed, 0), EBADF,
		      "write_fd closed");
	expect_reject(vm, ioregion(GPA, 8, efd, efd, 0), ENOTSOCK,
		      "eventfd is not a socket");
	expect_reject(vm, ioregion(GPA, 8, dgram[0], dgram[0], 0), EINVAL,
		      "datagram socket");
	expect_reject(vm, ioregion(GPA, 8, unconnected, unconnected, 0),
		      ENOTCONN, "unconnected stream socket");
	expect_reject(vm, ioregion(GPA, 8, pipefd[0], pipefd[1], 0), ENOTSOCK,
		      "a pipe pair");
	expect_reject(vm, ioregion(GPA, 8, sock, pipefd[1], 0), ENOTSOCK,
		      "a socket and a pipe");
	expect_reject(vm, ioregion(GPA, 8, pipefd[0], sock, 0), ENOTSOCK,
		      "a pipe and a socket");
	expect_reject(vm, ioregion(GPA, 8, sock, other[0], 0), EINVAL,
		      "two different sockets");
	expect_reject(vm, ioregion(~0ull, 0, sock, sock, KVM_IOREGION_POSTED_WRITES),
		      EINVAL, "doorbell on the last byte of the address space");
	expect_reject(vm, ioregion(~0ull, 1, sock, sock, 0), EINVAL,
		      "1-byte region on the last byte of the address space");
	expect_reject(vm, ioregion(~0ull - 0xfff, 0x1000, sock, sock, 0), EINVAL,
		      "region ending at 2^64");

	/* Deassign must match a region exactly. */
	kvm_ioregion_set(vm, ioregion(GPA, 8, sock, sock, 0));
	r = ioregion(GPA + 0x40, 8, sock, sock, 0);
	r.timeout_ms = 5;
	expect_reject(vm, r, EINVAL, "timeout_ms unlike the socket's other regions");
	expect_reject(vm, ioregion(GPA, 16, sock, sock, KVM_IOREGION_DEASSIGN),
		      ENOENT, "deassign with another size");
	expect_reject(vm, ioregion(GPA + 4, 4, sock, sock, KVM_IOREGION_DEASSIGN),
		      ENOENT, "deassign of a part");
	expect_reject(vm, ioregion(GPA, 8, sock, sock,
				   KVM_IOREGION_DEASSIGN | KVM_IOREGION_PIO),
		      ENOENT, "deassign on the other bus");

	/* Overlaps with another region. */
	expect_reject(vm, ioregion(GPA - 4, 8, sock, sock, 0), EEXIST,
		      "overlap from below");
	expect_reject(vm, ioregion(GPA + 7, 1, sock, sock, 0), EEXIST,
		      "overlap inside");
	expect_reject(vm, ioregion(GPA - 8, 32, sock, sock, 0), EEXIST,
		      "overlap around");
	expect_reject(vm, ioregion(GPA, 0, sock, sock, KVM_IOREGION_POSTED_WRITES),
		      EEXIST, "doorbell inside a region");

	close(other[0]);
	ksft_test_result(!held(other[1]), "the refused write_fd is not kept\n");

	/* Overlap with ioeventfd, both ways. */
	ksft_test_result(ioeventfd(vm, GPA + 4, 4, efd, 0) == -1 && errno == EEXIST,
			 "ioeventfd inside a region: EEXIST\n");
	ksft_test_result(ioeventfd(vm, GPA, 0, efd, 0) == -1 && errno == EEXIST,
			 "zero-length ioeventfd on a region: EEXIST\n");
	TEST_ASSERT(!ioeventfd(vm, GPA + 0x100, 4, efd, 0), "KVM_IOEVENTFD");
	expect_reject(vm, ioregion(GPA + 0xf0, 0x20, sock, sock, 0), EEXIST,
		      "region over an ioeventfd");
	TEST_ASSERT(!ioeventfd(vm, PORT, 2, efd, KVM_IOEVENTFD_FLAG_PIO), "KVM_IOEVENTFD");
	expect_reject(vm, ioregion(PORT, 4, sock, sock, KVM_IOREGION_PIO), EEXIST,
		      "PIO region over a PIO ioeventfd");
	ksft_test_result(!ioeventfd(vm, GPA + 0x100, 4, efd, KVM_IOEVENTFD_FLAG_DEASSIGN) &&
			 !ioeventfd(vm, PORT, 2, efd,
				    KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DEASSIGN),
			 "ioeventfds deassign after the refusals\n");

	/* Overlap with coalesced MMIO and PIO zones, both ways. */
	ksft_test_result(coalesced(vm, GPA + 4, 4, false, false) == -1 && errno == EEXIST,
			 "coalesced MMIO zone inside a region: EEXIST\n");
	TEST_ASSERT(!coalesced(vm, GPA + 0x200, 0x10, false, false),
		    "KVM_REGISTER_COALESCED_MMIO");
	expect_reject(vm, ioregion(GPA + 0x1f8, 0x10, sock, sock, 0), EEXIST,
		      "region over a coalesced MMIO zone");
	TEST_ASSERT(!coalesced(vm, PORT, 4, true, false), "KVM_REGISTER_COALESCED_MMIO (PIO)");
	expect_reject(vm, ioregion(PORT + 3, 1, sock, sock, KVM_IOREGION_PIO), EEXIST,
		      "PIO region over a coalesced PIO zone");
	ksft_test_result(!coalesced(vm, GPA + 0x200, 0x10, false, true) &&
			 !coalesced(vm, PORT, 4, true, true),
			 "coalesced zones unregister after the refusals\n");

	kvm_ioregion_set(vm, ioregion(GPA, 8, sock, sock, KVM_IOREGION_DEASSIGN));
	close(dgram[0]);
	close(dgram[1]);
	close(other[1]);
	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
	close(unconnected);
}

static void test_assign_cycle(struct kvm_vm *vm, int sock)
{
	struct kvm_ioregion r = ioregion(GPA, 0x1000, sock, sock, 0);
	struct kvm_ioregion pio = ioregion(GPA & 0xffff, 8, sock, sock, KVM_IOREGION_PIO);
	struct kvm_ioregion bell = ioregion(GPA + 0x2000, 0, sock, sock,
					    KVM_IOREGION_POSTED_WRITES);
	struct kvm_ioregion d;
	bool ok = true;
	int i;

	for (i = 0; i < 3; i++) {
		ok &= !__kvm_set_ioregion(vm, &r);
		ok &= !__kvm_set_ioregion(vm, &pio);	/* same number, other bus */
		ok &= !__kvm_set_ioregion(vm, &bell);
		d = r;
		d.flags |= KVM_IOREGION_DEASSIGN;
		ok &= !__kvm_set_ioregion(vm, &d);
		ok &= __kvm_set_ioregion(vm, &d) == -1 && errno == ENOENT;
		d = pio;
		d.flags |= KVM_IOREGION_DEASSIGN;
		ok &= !__kvm_set_ioregion(vm, &d);
		d = bell;
		d.flags |= KVM_IOREGION_DEASSIGN;
		ok &= !__kvm_set_ioregion(vm, &d);
	}
	ksft_test_result(ok, "assign, deassign and re-assign MMIO, PIO and doorbell regions\n");
}

/* A region assigned again with new files moves to them; nothing else may change. */
static void test_reassign(struct kvm_vm *vm)
{
	int a[2], b[2], c[2], d[2], e[2], x[2];
	struct kvm_ioregion r, r2, bell, bad;
	bool ok;

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, a) &&
		    !socketpair(AF_UNIX, SOCK_STREAM, 0, b) &&
		    !socketpair(AF_UNIX, SOCK_SEQPACKET, 0, c) &&
		    !socketpair(AF_UNIX, SOCK_STREAM, 0, d) &&
		    !socketpair(AF_UNIX, SOCK_STREAM, 0, e), "socketpair");
	r = ioregion(GPA, 0x1000, a[0], a[0], KVM_IOREGION_POSTED_WRITES);
	r.timeout_ms = 100;
	kvm_set_ioregion(vm, &r);
	r2 = ioregion(GPA + 0x2000, 0x1000, b[0], b[0], 0);
	r2.timeout_ms = r.timeout_ms;
	kvm_set_ioregion(vm, &r2);
	close(a[0]);

	/* Refusals leave the region on a[] and keep no new file. */
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, x), "socketpair");
	bad = r;
	bad.read_fd = x[0];
	bad.write_fd = x[0];
	bad.user_data ^= 1;
	ok = __kvm_set_ioregion(vm, &bad) == -1 && errno == EEXIST;
	bad.user_data = r.user_data;
	bad.timeout_ms = 0;
	ok &= __kvm_set_ioregion(vm, &bad) == -1 && errno == EEXIST;
	bad.timeout_ms = r.timeout_ms;
	bad.flags = 0;
	ok &= __kvm_set_ioregion(vm, &bad) == -1 && errno == EEXIST;
	close(x[0]);
	ksft_test_result(ok && !held(x[1]) && held(a[1]),
			 "moving a region with other user_data, timeout_ms or flags: EEXIST, nothing kept\n");
	close(x[1]);

	bad = r;
	bad.read_fd = b[0];
	bad.write_fd = c[0];
	ok = __kvm_set_ioregion(vm, &bad) == -1 && errno == EINVAL;
	close(c[0]);
	ksft_test_result(ok && !held(c[1]) && held(a[1]),
			 "moving a region onto two different sockets: EINVAL, nothing kept\n");
	close(c[1]);

	/* Onto the files of another region: the two share a channel. */
	r.read_fd = b[0];
	r.write_fd = b[0];
	ok = !__kvm_set_ioregion(vm, &r);
	ksft_test_result(ok && !held(a[1]),
			 "region moved to another region's socket: old socket let go\n");
	ok = !__kvm_set_ioregion(vm, &r);
	close(b[0]);
	ksft_test_result(ok && held(b[1]), "moving a region to the files it has: no change\n");

	/* A doorbell moves with its fast MMIO twin. */
	bell = ioregion(GPA + 0x4000, 0, d[0], d[0], KVM_IOREGION_POSTED_WRITES);
	kvm_set_ioregion(vm, &bell);
	close(d[0]);
	bell.read_fd = e[0];
	bell.write_fd = e[0];
	ok = !__kvm_set_ioregion(vm, &bell);
	close(e[0]);
	ok &= !held(d[1]) && held(e[1]);
	bell.flags |= KVM_IOREGION_DEASSIGN;
	ok &= !__kvm_set_ioregion(vm, &bell);
	ksft_test_result(ok && !held(e[1]),
			 "doorbell moved, then deassigned: both sockets let go\n");

	r.flags |= KVM_IOREGION_DEASSIGN;
	r2.flags |= KVM_IOREGION_DEASSIGN;
	ok = !__kvm_set_ioregion(vm, &r) && held(b[1]);
	ok &= !__kvm_set_ioregion(vm, &r2);
	ksft_test_result(ok && !held(b[1]), "shared channel lives until its last region goes\n");
	close(a[1]);
	close(b[1]);
	close(d[1]);
	close(e[1]);
}

static void test_bus_limit(struct kvm_vm *vm, int sock)
{
	struct kvm_ioregion r;
	int n, ret, err;

	/* A bare VM has no other device on the MMIO bus. */
	for (n = 0; n < 2000; n++) {
		r = ioregion(GPA + n * 8ull, 8, sock, sock, 0);
		ret = __kvm_set_ioregion(vm, &r);
		if (ret)
			break;
	}
	err = errno;
	ksft_test_result(ret == -1 && err == ENOSPC && n == 1000 && nothing_at(vm, r),
			 "io bus limit: %d regions, then %s\n", n, strerror(err));
	for (ret = 0; n--; ) {
		r = ioregion(GPA + n * 8ull, 8, sock, sock, KVM_IOREGION_DEASSIGN);
		ret |= __kvm_set_ioregion(vm, &r);
	}
	ksft_test_result(!ret, "all 1000 regions deassign\n");
}

/*
 * Regions, their channels and their files must all go with the VM: each
 * device sees end of file once the VM is gone (leaks show in kmemleak).
 */
static void test_teardown(void)
{
	struct ioregionfd_link l[3];
	struct kvm_vm *vm;
	bool eof = true;
	int i, fd;

	vm = vm_create_barebones();
	for (i = 0; i < 3; i++) {
		l[i] = ioregionfd_link_open(i == 1 ? TRANSPORT_SEQPACKET : TRANSPORT_STREAM);
		fd = l[i].kvm_rfd;
		kvm_ioregion_set(vm, ioregion(GPA + i * 0x1000, 0x100, fd, fd,
					      KVM_IOREGION_POSTED_WRITES));
		kvm_ioregion_set(vm, ioregion(PORT + i * 8, 8, fd, fd, KVM_IOREGION_PIO));
	}
	kvm_ioregion_set(vm, ioregion(GPA + 0x10000, 0, l[0].kvm_rfd, l[0].kvm_rfd,
				      KVM_IOREGION_POSTED_WRITES));
	for (i = 0; i < 3; i++)
		close(l[i].kvm_rfd);
	for (i = 0; i < 3; i++)
		eof &= held(l[i].dev_rfd);
	ksft_test_result(eof, "regions keep their sockets while the VM lives\n");
	kvm_vm_free(vm);
	for (i = 0; i < 3; i++) {
		eof &= !held(l[i].dev_rfd);
		close(l[i].dev_rfd);
	}
	ksft_test_result(eof, "VM teardown with regions assigned: every device sees end of file\n");
}

static int create_group(struct kvm_vm *vm, uint64_t shadow_size)
{
	struct kvm_ioregion_group g = { .shadow_size = shadow_size };

	return __vm_ioctl(vm, KVM_CREATE_IOREGION_GROUP, &g);
}

/* A group belongs to the VM that made it, and its shadow is shared memory. */
static void test_groups(struct kvm_vm *vm)
{
	struct kvm_vm *other = vm_create_barebones();
	int gfd, ofd, sv[2], ps = getpagesize();
	struct kvm_ioregion r;
	void *p;

	gfd = create_group(vm, ps);
	ofd = create_group(other, ps);
	TEST_ASSERT(gfd >= 0 && ofd >= 0 && !socketpair(AF_UNIX, SOCK_STREAM, 0, sv),
		    "KVM_CREATE_IOREGION_GROUP: %s", strerror(errno));

	r = ioregion(GPA, 8, sv[0], sv[0], KVM_IOREGION_GROUP);
	r.group_fd = ofd;
	expect_reject(vm, r, EINVAL, "group of another VM");
	r.group_fd = sv[0];
	expect_reject(vm, r, EINVAL, "group_fd that is not a group");
	r.group_fd = gfd;
	ksft_test_result(!__kvm_set_ioregion(vm, &r), "region in the VM's own group\n");
	nothing_at(vm, r);

	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, gfd, 0);
	ksft_test_result(p == MAP_FAILED && errno == EINVAL,
			 "MAP_PRIVATE of a shadow: EINVAL\n");
	if (p != MAP_FAILED)
		munmap(p, 2 * ps);
	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, gfd, 0);
	ksft_test_result(p != MAP_FAILED, "MAP_SHARED of a shadow\n");
	if (p != MAP_FAILED)
		munmap(p, 2 * ps);
	close(gfd);
	close(ofd);
	close(sv[0]);
	close(sv[1]);
	kvm_vm_free(other);
}

static long read_number(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		buf[0] = 0;
	close(fd);
	return buf[0] ? atol(buf) : -1;
}

/* The shadow is charged to the memory cgroup of the VMM that made it. */
static void test_memcg(struct kvm_vm *vm)
{
	const char *cg = "/sys/fs/cgroup/ioregionfd_reg_test";
	const long size = 16 << 20;
	long before, after;
	char path[128], pid[16];
	int gfd;

	mkdir("/sys/fs/cgroup", 0755);
	mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	ioregionfd_write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	mkdir(cg, 0755);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (!ioregionfd_write_file(path, pid)) {
		ksft_test_result_skip("shadow charged to the memory cgroup: no cgroup2 memory\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/memory.current", cg);
	before = read_number(path);
	gfd = create_group(vm, size);
	after = read_number(path);
	ksft_test_result(gfd >= 0 && after - before >= 2 * size,
			 "a 16 MiB shadow (values and map) is charged to the memory cgroup: %ld KiB\n",
			 (after - before) >> 10);
	close(gfd);
	ioregionfd_write_file("/sys/fs/cgroup/cgroup.procs", pid);
	rmdir(cg);
}

/*
 * An io bus that cannot allocate its smaller copy on deassign drops every
 * device on it (kvm_io_bus_unregister_dev()); the regions must go with it
 * exactly once, and the VMM must hear of it.  Fail the Nth allocation of the
 * deassign (/proc/self/task/TID/fail-nth) for each N until none is left.
 */
static void test_deassign_nomem(void)
{
	int fail, n, nth_fd, ret = 0, err, sv[2], injected = 0, enomem = 0;
	struct kvm_ioregion r;
	struct kvm_vm *vm;
	char nth[32];
	bool ok = true;

	snprintf(nth, sizeof(nth), "/proc/self/task/%ld/fail-nth", syscall(SYS_gettid));
	nth_fd = open(nth, O_RDWR);
	if (nth_fd < 0 ||
	    !ioregionfd_write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N") ||
	    !ioregionfd_write_file("/sys/kernel/debug/failslab/verbose", "0")) {
		ksft_test_result_skip("deassign when the io bus cannot shrink: no failslab\n");
		return;
	}
	for (fail = 1; fail < 20; fail++) {
		vm = vm_create_barebones();
		TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
		for (n = 0; n < 3; n++)
			kvm_ioregion_set(vm, ioregion(GPA + n * 0x1000, 8, sv[0], sv[0], 0));
		r = ioregion(GPA + 0x1000, 8, sv[0], sv[0], KVM_IOREGION_DEASSIGN);
		snprintf(nth, sizeof(nth), "%d", fail);
		TEST_ASSERT(write(nth_fd, nth, strlen(nth)) > 0, "fail-nth");
		ret = __kvm_set_ioregion(vm, &r);
		err = errno;
		memset(nth, 0, sizeof(nth));
		TEST_ASSERT(pread(nth_fd, nth, sizeof(nth) - 1, 0) > 0, "fail-nth");
		TEST_ASSERT(write(nth_fd, "0", 1) > 0, "fail-nth");
		if (atoi(nth)) {
			/* Nothing left to fail: it must have worked. */
			ok &= !ret;
			kvm_vm_free(vm);
			close(sv[0]);
			close(sv[1]);
			break;
		}
		/*
		 * The Nth allocation failed.  If it was the bus's, the VMM must
		 * hear of it; others (debug objects, say) may not matter.
		 */
		injected++;
		ok &= !ret || err == ENOMEM;
		enomem += ret == -1 && err == ENOMEM;
		/* Whatever happened, the VM and its regions go cleanly. */
		kvm_vm_free(vm);
		close(sv[0]);
		ok &= !held(sv[1]);
		close(sv[1]);
	}
	close(nth_fd);
	ksft_test_result(ok && enomem,
			 "deassign when the io bus cannot shrink: ENOMEM, nothing freed twice (%d allocations failed in turn, %d ENOMEM)\n",
			 injected, enomem);
}

int main(int argc, char *argv[])
{
	struct kvm_vm *vm;
	int caps, sv[2];

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_IOREGIONFD));

	ksft_print_header();
	ksft_set_plan(56);

	caps = kvm_check_cap(KVM_CAP_IOREGIONFD);
	ksft_test_result(caps == (KVM_IOREGION_PIO | KVM_IOREGION_POSTED_WRITES |
				  KVM_IOREGION_DEASSIGN | KVM_IOREGION_GROUP),
			 "KVM_CAP_IOREGIONFD reports the supported flags: 0x%x\n", caps);

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	vm = vm_create_barebones();
	test_rejections(vm, sv[0]);
	test_assign_cycle(vm, sv[0]);
	test_reassign(vm);
	test_bus_limit(vm, sv[0]);
	test_groups(vm);
	test_memcg(vm);
	kvm_vm_free(vm);
	close(sv[0]);
	close(sv[1]);
	test_teardown();
	test_deassign_nomem();

	ksft_finished();
}
