/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * A vfio-user server for the client's tests (vfu.c on the host,
 * vfu_vm_test.c in the test machine): one of libvfio-user's samples,
 * started on @path and connected to once it listens.
 */
#ifndef LIBIOREGION_TEST_VFU_SERVER_H
#define LIBIOREGION_TEST_VFU_SERVER_H

#include <errno.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libioregion.h"

/* @opt: the sample's one option before the socket path, or NULL. */
static inline pid_t vfu_server_start(const char *prog, const char *opt,
				     const char *path)
{
	pid_t pid;

	unlink(path);
	pid = fork();
	if (pid == 0) {
		if (opt)
			execl(prog, prog, opt, path, NULL);
		else
			execl(prog, prog, path, NULL);
		_exit(127);
	}
	return pid;
}

/*
 * The socket exists from bind() and accepts from listen(): retry until the
 * server listens, or gives up by exiting.  No sleep, and no inotify, which
 * the test machine's kernel lacks.
 */
static inline int vfu_server_connect(struct ioregion_vfu **vfu,
				     const char *path, unsigned int flags,
				     pid_t pid)
{
	int ret;

	do
		ret = ioregion_vfu_connect(vfu, path, flags);
	while ((ret == -ENOENT || ret == -ECONNREFUSED) &&
	       waitpid(pid, NULL, WNOHANG) == 0 && !sched_yield());
	return ret;
}

#endif
