/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the ioregionfd selftests: KVM_SET_IOREGION wrappers, the
 * transports, and a device thread that serves commands like a device
 * process would.
 */
#ifndef SELFTEST_KVM_IOREGIONFD_UTIL_H
#define SELFTEST_KVM_IOREGIONFD_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/ioregion.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

static inline int __kvm_set_ioregion(struct kvm_vm *vm, struct kvm_ioregion *r)
{
	return __vm_ioctl(vm, KVM_SET_IOREGION, r);
}

static inline void kvm_set_ioregion(struct kvm_vm *vm, struct kvm_ioregion *r)
{
	int ret = __kvm_set_ioregion(vm, r);

	TEST_ASSERT(!ret, "KVM_SET_IOREGION(0x%llx, 0x%llx, 0x%x): rc %i errno %i (%s)",
		    r->guest_paddr, r->memory_size, r->flags, ret, errno,
		    strerror(errno));
}

static inline struct kvm_ioregion ioregion(uint64_t gpa, uint64_t size,
					   int rfd, int wfd, uint32_t flags)
{
	return (struct kvm_ioregion) {
		.guest_paddr = gpa, .memory_size = size, .user_data = gpa ^ 0x5a5a,
		.read_fd = rfd, .write_fd = wfd, .flags = flags,
	};
}

static inline void kvm_ioregion_set(struct kvm_vm *vm, struct kvm_ioregion r)
{
	kvm_set_ioregion(vm, &r);
}

/* The kernel's and the device's ends of a transport: a socket pair. */
enum ioregionfd_transport { TRANSPORT_STREAM, TRANSPORT_SEQPACKET };

struct ioregionfd_link {
	int kvm_rfd, kvm_wfd;	/* for struct kvm_ioregion: one socket */
	int dev_rfd, dev_wfd;	/* for the device thread: its peer */
};

static inline struct ioregionfd_link ioregionfd_link_open(enum ioregionfd_transport t)
{
	struct ioregionfd_link l;
	int sv[2];

	TEST_ASSERT(!socketpair(AF_UNIX, t == TRANSPORT_STREAM ? SOCK_STREAM : SOCK_SEQPACKET,
				0, sv), "socketpair: %s", strerror(errno));
	l.kvm_rfd = sv[0];
	l.kvm_wfd = sv[0];
	l.dev_rfd = sv[1];
	l.dev_wfd = sv[1];
	return l;
}

static inline void ioregionfd_link_close(struct ioregionfd_link *l)
{
	close(l->kvm_rfd);
	if (l->kvm_wfd != l->kvm_rfd)
		close(l->kvm_wfd);
	close(l->dev_rfd);
	if (l->dev_wfd != l->dev_rfd)
		close(l->dev_wfd);
}

static inline const char *transport_name(enum ioregionfd_transport t)
{
	return t == TRANSPORT_STREAM ? "stream socket" : "seqpacket socket";
}

/* Read exactly one message, or return false at end of file. */
static inline bool ioregionfd_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, -1);
			continue;
		}
		if (n <= 0)
			return false;
		done += n;
	}
	return true;
}

static inline void ioregionfd_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, -1);
			continue;
		}
		TEST_ASSERT(n > 0, "device write: %s", strerror(errno));
		done += n;
	}
}

static inline void ioregionfd_reply(int fd, const struct ioregionfd_cmd *cmd,
				    uint64_t data)
{
	struct ioregionfd_resp resp = { .data = data, .tag = cmd->tag };

	ioregionfd_write_full(fd, &resp, sizeof(resp));
}

static inline void ioregionfd_check_cmd(const struct ioregionfd_cmd *cmd)
{
	TEST_ASSERT(cmd->op <= IOREGIONFD_CMD_WRITE && !cmd->reserved &&
		    !(cmd->flags & ~IOREGIONFD_CMD_RESPONSE) &&
		    (cmd->size == 0 || cmd->size == 1 || cmd->size == 2 ||
		     cmd->size == 4 || cmd->size == 8),
		    "malformed command: op %u size %u flags 0x%x reserved %u",
		    cmd->op, cmd->size, cmd->flags, cmd->reserved);
}

static inline uint64_t ioregionfd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Wait until @n commands KVM sent are queued, unread, on the device's end
 * @fd: the vCPUs that sent them are then in (or past) their accesses.
 */
static inline void ioregionfd_wait_queued(int fd, int n)
{
	int avail = 0;

	for (;;) {
		TEST_ASSERT(!ioctl(fd, FIONREAD, &avail), "FIONREAD: %s",
			    strerror(errno));
		if (avail >= n * (int)sizeof(struct ioregionfd_cmd))
			return;
		sched_yield();
	}
}

/* Write @val to a sysfs, debugfs or procfs file; false if that fails. */
static inline bool ioregionfd_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/* KVM_RUN to the next exit that is not a signal; counts the signals. */
static inline int ioregionfd_run(struct kvm_vcpu *vcpu, uint64_t *eintr)
{
	int ret;

	while ((ret = __vcpu_run(vcpu)) == -1 && errno == EINTR)
		if (eintr)
			(*eintr)++;
	return ret;
}

/* A guest exception, reported with where it happened instead of a triple fault. */
static inline void ioregionfd_guest_exception(struct ex_regs *regs)
{
	GUEST_FAIL("exception %lu at rip 0x%lx", regs->vector, regs->rip);
}

/*
 * Report any exception of @vm's guest as a failed guest assertion, with its
 * vector and rip.  Call once every vCPU exists.
 */
static inline void ioregionfd_catch_exceptions(struct kvm_vm *vm,
					       struct kvm_vcpu **vcpus, int nr)
{
	int i;

	for (i = 0; i < 32; i++)
		vm_install_exception_handler(vm, i, ioregionfd_guest_exception);
}

/* The guest must have reached GUEST_DONE(). */
static inline void ioregionfd_expect_done(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	switch (get_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		return;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("vCPU %u: unexpected exit %s", vcpu->id,
			  exit_reason_str(vcpu->run->exit_reason));
	}
}

#endif /* SELFTEST_KVM_IOREGIONFD_UTIL_H */
