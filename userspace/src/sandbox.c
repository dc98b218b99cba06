// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * Confinement for a device process once its sockets and eventfds are set
 * up: optionally a new uid/gid without supplementary groups, then
 * no-new-privs and a seccomp filter (libseccomp) that lets through only
 * what a serve loop does - move bytes on the fds it already has, wait,
 * allocate memory, take the time, exit.  Calls that would reach for a new
 * resource (open, socket, exec) fail with EPERM so that code can report
 * it; anything else the filter does not know kills the process.
 *
 * io_uring requests are not system calls and seccomp does not see them:
 * the library's ring is therefore restricted to receive, send, read,
 * write and cancel (see uring.c), and the filter refuses new rings.
 */
#include <errno.h>
#include <grp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static const char *const allowed[] = {
	"read", "write", "readv", "writev", "recvfrom", "recvmsg", "recvmmsg",
	"sendto", "sendmsg", "sendmmsg", "poll", "ppoll", "epoll_wait",
	"epoll_pwait", "epoll_ctl", "select", "pselect6", "io_uring_enter",
	"close", "fstat", "newfstatat",
	"brk", "munmap", "mremap", "madvise", "futex", "sched_yield",
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"getrandom", "rt_sigreturn", "rt_sigprocmask",
	"rt_sigaction", "restart_syscall", "exit", "exit_group",
};

/* Reaching for something new: refused with EPERM, not fatal. */
static const char *const refused[] = {
	"open", "openat", "openat2", "creat", "socket", "socketpair",
	"connect", "execve", "execveat",
};

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static int add_names(scmp_filter_ctx ctx, uint32_t action,
		     const char *const *names, size_t n)
{
	size_t i;
	int nr, ret;

	for (i = 0; i < n && names[i]; i++) {
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			return -EINVAL;
		ret = seccomp_rule_add(ctx, action, nr, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int build_filter(scmp_filter_ctx ctx, const struct ioregion_sandbox *sb)
{
	int ret;

	ret = add_names(ctx, SCMP_ACT_ALLOW, allowed, N(allowed));
	if (!ret && sb->allow)
		ret = add_names(ctx, SCMP_ACT_ALLOW, sb->allow, SIZE_MAX);
	if (!ret)
		ret = add_names(ctx, SCMP_ACT_ERRNO(EPERM), refused, N(refused));
	/* Memory, but never executable: no new code once confined. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* abort() and raise(): signals to itself only. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				       SCMP_A0(SCMP_CMP_EQ, getpid()));
	return ret;
}

static int drop_ids(const struct ioregion_sandbox *sb)
{
	if (setgroups(0, NULL) || setresgid(sb->gid, sb->gid, sb->gid) ||
	    setresuid(sb->uid, sb->uid, sb->uid))
		return -errno;
	return 0;
}

int ioregion_sandbox(const struct ioregion_sandbox *sb)
{
	scmp_filter_ctx ctx;
	int ret;

	if (!sb || sb->flags & ~IOREGION_SANDBOX_SETID)
		return -EINVAL;
	/* Build first: a bad name must leave the process as it was. */
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	/* Every thread of the process; seccomp_load() sets no-new-privs. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (!ret)
		ret = build_filter(ctx, sb);
	if (!ret && sb->flags & IOREGION_SANDBOX_SETID)
		ret = drop_ids(sb);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}
