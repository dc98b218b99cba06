// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * ioregion_sandbox(): a confined device process still serves commands
 * through both engines, but cannot open a file or create a socket (EPERM),
 * cannot map executable memory or make a new io_uring (killed by SIGSYS),
 * and its io_uring refuses to open files too.  Bad arguments change
 * nothing.  Other threads are confined too.  Under root the process also
 * drops to nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/internal.h"
#include "tap.h"

#define NOBODY		65534
#define ROUNDS		200

static uint32_t scratch;

static uint64_t rd(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	return off == 0 ? 0x5afe : scratch;
}

static void wr(void *o, uint64_t ud, uint64_t off, unsigned int size, uint64_t data)
{
	scratch = data;
}

static const struct ioregion_ops ops = { .read = rd, .write = wr };

/* What the confined child found, sent back over a pipe. */
struct report {
	int sandbox, open_errno, socket_errno, uring_open_res;
	uid_t uid;
};

static struct ioregion_sandbox confinement(void)
{
	struct ioregion_sandbox sb = { 0 };

	if (geteuid() == 0)
		sb = (struct ioregion_sandbox){ IOREGION_SANDBOX_SETID, NOBODY, NOBODY, NULL };
	return sb;
}

/* The library's own ring, after confinement: an open request must fail. */
static int uring_open(struct ioregion_dev *dev)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&dev->ring);
	struct io_uring_cqe *cqe;
	int res;

	io_uring_prep_openat(sqe, AT_FDCWD, "/dev/null", O_RDONLY, 0);
	io_uring_sqe_set_data(sqe, NULL);
	io_uring_submit(&dev->ring);
	if (io_uring_wait_cqe(&dev->ring, &cqe))
		return 1;
	res = cqe->res;
	io_uring_cqe_seen(&dev->ring, cqe);
	return res;
}

static void device(enum ioregion_engine engine, int fd, int report_fd)
{
	IOREGION_DEV_OPTS(opts, .engine = engine);
	struct ioregion_sandbox sb = confinement();
	struct ioregion_region region = { .user_data = 1, .size = 8 };
	struct report r = { 0 };
	struct ioregion_dev *dev;
	int served = 0, ret;

	if (ioregion_dev_create(&dev, &ops, NULL, &opts) ||
	    ioregion_dev_add_region(dev, &region) || ioregion_dev_add_fds(dev, fd, fd))
		_exit(2);
	r.sandbox = ioregion_sandbox(&sb);
	r.uid = getuid();
	/* Before serving, while no receive is in flight on the ring. */
	if (engine == IOREGION_ENGINE_URING)
		r.uring_open_res = uring_open(dev);
	while ((ret = ioregion_serve(dev, -1)) >= 0) {
		served += ret;
		if (served < ROUNDS)
			continue;
		/* Everything served: now try to break out. */
		r.open_errno = open("/dev/null", O_RDONLY) < 0 ? errno : 0;
		r.socket_errno = socket(AF_INET, SOCK_STREAM, 0) < 0 ? errno : 0;
		if (write(report_fd, &r, sizeof(r)) != sizeof(r))
			_exit(3);
		served = -1000000;
	}
	_exit(ret == -EPIPE ? 0 : 4);
}

static bool play_kvm(int fd)
{
	struct ioregionfd_cmd c = { .size = 4, .user_data = 1 };
	struct ioregionfd_resp resp;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		c.tag = i;
		c.offset = i & 1 ? 4 : 0;
		c.op = i % 3 == 2 ? IOREGIONFD_CMD_WRITE : IOREGIONFD_CMD_READ;
		c.flags = i % 3 == 2 ? 0 : IOREGIONFD_CMD_RESPONSE;	/* posted */
		c.data = c.op == IOREGIONFD_CMD_WRITE ? i : 0;
		if (write(fd, &c, sizeof(c)) != sizeof(c))
			return false;
		if (!(c.flags & IOREGIONFD_CMD_RESPONSE))
			continue;
		if (read(fd, &resp, sizeof(resp)) != sizeof(resp) || resp.tag != c.tag)
			return false;
		if (!(i & 1) && resp.data != 0x5afe)
			return false;
	}
	return true;
}

static void serve_confined(enum ioregion_engine engine, const char *name)
{
	int sv[2], rep[2], st = 0;
	struct report r = { .sandbox = -1 };
	pid_t pid;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pipe(rep);
	pid = fork();
	if (!pid) {
		close(sv[0]);
		close(rep[0]);
		device(engine, sv[1], rep[1]);
	}
	close(sv[1]);
	close(rep[1]);
	tap_ok(play_kvm(sv[0]), "%s: confined device answers %d commands", name, ROUNDS);
	close(sv[0]);	/* the device reports, then sees EOF */
	tap_ok(read(rep[0], &r, sizeof(r)) == sizeof(r), "%s: device reports back", name);
	tap_expect(r.sandbox, 0, name);
	tap_ok(r.open_errno == EPERM, "%s: open(\"/dev/null\") refused: errno %d (%s)",
	       name, r.open_errno, strerror(r.open_errno));
	tap_ok(r.socket_errno == EPERM, "%s: socket(AF_INET) refused: errno %d (%s)",
	       name, r.socket_errno, strerror(r.socket_errno));
	if (engine == IOREGION_ENGINE_URING)
		tap_ok(r.uring_open_res == -EACCES,
		       "%s: IORING_OP_OPENAT on the library's ring refused: res %d",
		       name, r.uring_open_res);
	if (geteuid() == 0)
		tap_ok(r.uid == NOBODY, "%s: runs as uid %u after SETID", name, r.uid);
	waitpid(pid, &st, 0);
	tap_ok(WIFEXITED(st) && !WEXITSTATUS(st),
	       "%s: device exits cleanly at EOF (status 0x%x)", name, st);
	close(rep[0]);
}

enum forbidden { MKDIR, MMAP_EXEC, MPROTECT_EXEC, NEW_RING };

static const char *const forbidden_name[] = {
	"mkdir(2)", "mmap(PROT_EXEC)", "mprotect(PROT_EXEC)", "io_uring_setup(2)",
};

/* A confined process that steps outside the filter dies of SIGSYS. */
static void killed(enum forbidden what)
{
	struct ioregion_sandbox sb = confinement();
	struct io_uring ring;
	int st = 0;
	void *p;
	pid_t pid = fork();

	if (!pid) {
		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ioregion_sandbox(&sb))
			_exit(2);
		switch (what) {
		case MKDIR:
			mkdir("/tmp/ioregion-sandbox-escape", 0700);
			break;
		case MMAP_EXEC:
			mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case MPROTECT_EXEC:
			mprotect(p, 4096, PROT_READ | PROT_EXEC);
			break;
		case NEW_RING:
			io_uring_queue_init(4, &ring, 0);
			break;
		}
		_exit(0);
	}
	waitpid(pid, &st, 0);
	tap_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	       "confined %s: killed by SIGSYS (status 0x%x)", forbidden_name[what], st);
}

static int go[2];

/* Started before ioregion_sandbox(); waits, then tries to open a file. */
static void *late_opener(void *arg)
{
	char c;

	while (read(go[0], &c, 1) < 0 && errno == EINTR)
		;
	*(int *)arg = open("/dev/null", O_RDONLY) < 0 ? errno : 0;
	return NULL;
}

static void other_threads(void)
{
	struct ioregion_sandbox sb = confinement();
	int st = 0, err = -1;
	pthread_t t;
	pid_t pid;

	pipe(go);
	pid = fork();
	if (!pid) {
		pthread_create(&t, NULL, late_opener, &err);
		if (ioregion_sandbox(&sb) || write(go[1], "", 1) != 1)
			_exit(2);
		pthread_join(t, NULL);
		_exit(err == EPERM ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	tap_ok(WIFEXITED(st) && !WEXITSTATUS(st),
	       "a thread started before confinement is confined too (status 0x%x)", st);
	close(go[0]);
	close(go[1]);
}

int main(void)
{
	static const char *const bogus[] = { "read", "no_such_syscall", NULL };
	struct ioregion_sandbox sb = { .flags = 1u << 3 };
	int fd;

	tap_expect(ioregion_sandbox(NULL), -EINVAL, "no arguments");
	tap_expect(ioregion_sandbox(&sb), -EINVAL, "unknown flag");
	sb = (struct ioregion_sandbox){ .allow = bogus };
	tap_expect(ioregion_sandbox(&sb), -EINVAL, "unknown system call name");
	fd = open("/dev/null", O_RDONLY);
	tap_ok(fd >= 0, "a refused sandbox leaves the process unconfined");
	close(fd);

	serve_confined(IOREGION_ENGINE_RECV, "recv engine");
	serve_confined(IOREGION_ENGINE_URING, "io_uring engine");
	killed(MKDIR);
	killed(MMAP_EXEC);
	killed(MPROTECT_EXEC);
	killed(NEW_RING);
	other_threads();
	return tap_done();
}
