// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * Both receive engines over socketpairs, with the test playing KVM: reads
 * and synchronous writes answered with the right tag and data, commands
 * split byte by byte on a stream, a bad command answered with all ones and
 * reported, a posted-write burst taken in few system calls, several fds in
 * one serve loop, seqpacket records, and -EPIPE once every peer is gone.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libioregion.h"
#include "tap.h"

#define BURST	4096

struct regs {
	uint64_t r[2][32];
	uint64_t writes, bad;
	int last_err;
};

static uint64_t rd(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	struct regs *regs = o;

	return regs->r[ud][off / 8] + off % 8;
}

static void wr(void *o, uint64_t ud, uint64_t off, unsigned int size,
	       uint64_t data)
{
	struct regs *regs = o;

	regs->r[ud][off / 8] = data;
	regs->writes++;
}

static void bad(void *o, const struct ioregionfd_cmd *cmd, int err)
{
	struct regs *regs = o;

	regs->bad++;
	regs->last_err = err;
}

static const struct ioregion_ops ops = { .read = rd, .write = wr, .bad_cmd = bad };

struct server {
	struct ioregion_dev *dev;
	pthread_t thread;
	int ret;
};

static void *serve_thread(void *arg)
{
	struct server *s = arg;

	while ((s->ret = ioregion_serve(s->dev, 5000)) >= 0)
		;
	return NULL;
}

static struct ioregionfd_cmd cmd(uint8_t op, uint64_t ud, uint64_t off,
				 uint64_t data, bool posted, uint32_t tag)
{
	return (struct ioregionfd_cmd){
		.op = op, .size = 8, .tag = tag, .user_data = ud, .offset = off,
		.data = data,
		.flags = posted ? 0 : IOREGIONFD_CMD_RESPONSE,
	};
}

static bool recv_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n <= 0)
			return false;
		done += n;
	}
	return true;
}

/* Send @c and return the response's data; the tag must match. */
static bool roundtrip(int fd, struct ioregionfd_cmd c, uint64_t *data, bool split)
{
	struct ioregionfd_resp resp;
	size_t i;

	if (split) {
		for (i = 0; i < sizeof(c); i++)
			if (write(fd, (char *)&c + i, 1) != 1)
				return false;
	} else if (write(fd, &c, sizeof(c)) != sizeof(c)) {
		return false;
	}
	if (!recv_full(fd, &resp, sizeof(resp)) || resp.tag != c.tag ||
	    resp.flags || resp.reserved[0] || resp.reserved[1])
		return false;
	*data = resp.data;
	return true;
}

static void run(enum ioregion_engine engine, const char *name)
{
	IOREGION_DEV_OPTS(opts, .engine = engine);
	struct ioregion_region r0 = { .user_data = 0, .size = 0x100 };
	struct ioregion_region r1 = { .user_data = 1, .size = 0x100 };
	static struct ioregionfd_cmd burst[BURST];
	IOREGION_STATS(st);
	struct server s = { 0 };
	struct regs regs = { 0 };
	int a[2], b[2], q[2], i;
	uint64_t data = 0;
	bool ok;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q)) {
		tap_ok(0, "%s: socketpair: %s", name, strerror(errno));
		return;
	}
	tap_expect(ioregion_dev_create(&s.dev, &ops, &regs, &opts), 0, name);
	ioregion_dev_add_region(s.dev, &r0);
	ioregion_dev_add_region(s.dev, &r1);
	tap_expect(ioregion_dev_add_fds(s.dev, a[1], a[1]), 0, "stream fd");
	tap_expect(ioregion_dev_add_fds(s.dev, b[1], b[1]), 0, "second stream fd");
	tap_expect(ioregion_dev_add_fds(s.dev, q[1], q[1]), 0, "seqpacket fd");
	pthread_create(&s.thread, NULL, serve_thread, &s);

	ok = roundtrip(a[0], cmd(IOREGIONFD_CMD_WRITE, 0, 8, 0x1234, false, 1), &data, false) &&
	     roundtrip(a[0], cmd(IOREGIONFD_CMD_READ, 0, 8, 0, false, 2), &data, false) &&
	     data == 0x1234;
	tap_ok(ok, "%s: synchronous write, then read back 0x%lx", name, data);
	ok = roundtrip(b[0], cmd(IOREGIONFD_CMD_READ, 0, 9, 0, false, 3), &data, true) &&
	     data == 0x1235;
	tap_ok(ok, "%s: command split byte by byte on a second fd", name);
	ok = roundtrip(q[0], cmd(IOREGIONFD_CMD_READ, 1, 0, 0, false, 4), &data, false) &&
	     data == 0;
	tap_ok(ok, "%s: read over seqpacket", name);
	ok = roundtrip(a[0], cmd(IOREGIONFD_CMD_READ, 0, 0x100, 0, false, 5), &data, false) &&
	     data == ~0ull && regs.bad == 1 && regs.last_err == -ERANGE;
	tap_ok(ok, "%s: read past the region answered with all ones, reported as -ERANGE", name);
	if (write(q[0], "short", 5) == 5)
		ok = roundtrip(q[0], cmd(IOREGIONFD_CMD_READ, 1, 0, 0, false, 6), &data, false) &&
		     regs.bad == 2 && regs.last_err == -EMSGSIZE;
	tap_ok(ok, "%s: a 5-byte seqpacket record dropped and reported as -EMSGSIZE", name);

	/* A burst of posted writes, then a read that must see the last one. */
	for (i = 0; i < BURST; i++)
		burst[i] = cmd(IOREGIONFD_CMD_WRITE, 1, 16, i, true, 100 + i);
	ioregion_dev_stats(s.dev, &st);
	ok = write(a[0], burst, sizeof(burst)) == sizeof(burst) &&
	     roundtrip(a[0], cmd(IOREGIONFD_CMD_READ, 1, 16, 0, false, 100 + BURST), &data, false) &&
	     data == BURST - 1;
	{
		IOREGION_STATS(st2);
		double per;

		ioregion_dev_stats(s.dev, &st2);
		per = (double)(st2.commands - st.commands) / (st2.syscalls - st.syscalls);
		tap_ok(ok && per > 4, "%s: %d posted writes in order; %.1f commands per system call",
		       name, BURST, per);
	}

	close(a[0]);
	close(b[0]);
	close(q[0]);
	pthread_join(s.thread, NULL);
	tap_expect(s.ret, -EPIPE, "serve once every peer has gone");
	ioregion_dev_stats(s.dev, &st);
	tap_ok(st.responses == 7 && st.bad_commands == 2,
	       "%s: %lu commands, %lu responses, %lu bad, %lu system calls", name,
	       st.commands, st.responses, st.bad_commands, st.syscalls);
	ioregion_dev_destroy(s.dev);
	close(a[1]);
	close(b[1]);
	close(q[1]);
}

int main(void)
{
	run(IOREGION_ENGINE_RECV, "recv engine");
	run(IOREGION_ENGINE_URING, "io_uring engine");
	return tap_done();
}
