// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * Deferred responses in both engines.  Two vCPUs (the test, on one stream
 * socket) each wait on a slow register, whose read callback takes the
 * command with ioregion_defer() and hands it to a completer thread; a third
 * read and a posted write go on meanwhile and are answered at once; then
 * the completer answers the two slow reads in reverse order, with
 * ioregion_complete() from its own thread, and each vCPU gets its own
 * data.  Handshakes order every step.  Also: ioregion_defer() outside a
 * callback, and on a posted write, is refused; a command deferred on a
 * connection that has gone is dropped when completed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libioregion.h"
#include "tap.h"

#define SLOW_A	0x10
#define SLOW_B	0x18
#define LATE	0x30

struct device {
	struct ioregion_dev *dev;
	uint64_t regs[8];
	int handoff[2];		/* deferred commands, to the completer */
	bool posted_refused;
};

static uint64_t rd(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	struct device *d = o;
	struct ioregion_deferred *p;

	if (off != SLOW_A && off != SLOW_B && off != LATE)
		return d->regs[off / 8];
	p = ioregion_defer(d->dev);
	if (!p || write(d->handoff[1], &p, sizeof(p)) != sizeof(p))
		return ~0ull;
	return 0;	/* not sent: the completer answers */
}

static void wr(void *o, uint64_t ud, uint64_t off, unsigned int size,
	       uint64_t data)
{
	struct device *d = o;

	d->regs[off / 8] = data;
	/* A posted write has no response to defer. */
	if (off == 0x20 && !ioregion_defer(d->dev) && errno == EINVAL)
		__atomic_store_n(&d->posted_refused, true, __ATOMIC_RELEASE);
}

static const struct ioregion_ops ops = { .read = rd, .write = wr };

struct serve_ctx {
	struct ioregion_dev *dev;
	int ret;
};

static void *serve_thread(void *arg)
{
	struct serve_ctx *s = arg;

	while ((s->ret = ioregion_serve(s->dev, 5000)) >= 0)
		;
	return NULL;
}

struct completer {
	struct device *d;
	int go[2];		/* the test says when to answer */
	int ret;
};

static void *complete_thread(void *arg)
{
	struct completer *c = arg;
	struct ioregion_deferred *p[2];
	char go;

	if (read(c->d->handoff[0], &p[0], sizeof(p[0])) != sizeof(p[0]) ||
	    read(c->d->handoff[0], &p[1], sizeof(p[1])) != sizeof(p[1]) ||
	    read(c->go[0], &go, 1) != 1) {
		c->ret = -EIO;
		return NULL;
	}
	/* Reverse order: the second vCPU's read is answered first. */
	c->ret = ioregion_complete(c->d->dev, p[1], 0xbbbb);
	if (!c->ret)
		c->ret = ioregion_complete(c->d->dev, p[0], 0xaaaa);
	return NULL;
}

static struct ioregionfd_cmd cmd(uint8_t op, uint64_t off, uint64_t data,
				 uint32_t tag, bool posted)
{
	return (struct ioregionfd_cmd){
		.op = op, .size = 8, .tag = tag, .offset = off, .data = data,
		.flags = posted ? 0 : IOREGIONFD_CMD_RESPONSE,
	};
}

static bool get(int fd, struct ioregionfd_resp *r)
{
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(*r)) {
		n = recv(fd, (char *)r + got, sizeof(*r) - got, 0);
		if (n <= 0)
			return false;
		got += n;
	}
	return true;
}

static void run(enum ioregion_engine engine, const char *name)
{
	IOREGION_DEV_OPTS(opts, .engine = engine);
	struct ioregion_region r = { .user_data = 0, .size = 0x40 };
	struct ioregionfd_cmd c[4];
	struct ioregionfd_resp resp[3];
	struct device d = { 0 };
	struct completer comp = { .d = &d };
	struct serve_ctx s = { 0 };
	struct ioregion_deferred *late;
	pthread_t st, ct;
	int sv[2], b[2];
	bool ok;
	char go = 1;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b) ||
	    pipe(d.handoff) || pipe(comp.go) ||
	    ioregion_dev_create(&d.dev, &ops, &d, &opts) ||
	    ioregion_dev_add_region(d.dev, &r) ||
	    ioregion_dev_add_fds(d.dev, sv[1], sv[1]) ||
	    ioregion_dev_add_fds(d.dev, b[1], b[1])) {
		tap_ok(0, "%s: set up", name);
		return;
	}
	s.dev = d.dev;
	errno = 0;
	tap_ok(!ioregion_defer(d.dev) && errno == EINVAL,
	       "%s: ioregion_defer() outside a callback: NULL, EINVAL", name);
	pthread_create(&st, NULL, serve_thread, &s);
	pthread_create(&ct, NULL, complete_thread, &comp);

	/*
	 * vCPU 1 and vCPU 2 wait on the slow registers; then a posted write
	 * and a read of it: answered while both slow reads are pending.
	 */
	c[0] = cmd(IOREGIONFD_CMD_READ, SLOW_A, 0, 1, false);
	c[1] = cmd(IOREGIONFD_CMD_READ, SLOW_B, 0, 2, false);
	c[2] = cmd(IOREGIONFD_CMD_WRITE, 0x20, 0x1234, 3, true);
	c[3] = cmd(IOREGIONFD_CMD_READ, 0x20, 0, 4, false);
	ok = send(sv[0], c, sizeof(c), 0) == sizeof(c) && get(sv[0], &resp[0]);
	tap_ok(ok && resp[0].tag == 4 && resp[0].data == 0x1234,
	       "%s: with two reads deferred, a later read is answered at once (tag %u, 0x%lx)",
	       name, resp[0].tag, (unsigned long)resp[0].data);
	tap_ok(__atomic_load_n(&d.posted_refused, __ATOMIC_ACQUIRE), "%s: ioregion_defer() on a posted write: NULL, EINVAL", name);

	/* Now the completer answers vCPU 2, then vCPU 1, from its thread. */
	ok = write(comp.go[1], &go, 1) == 1 && get(sv[0], &resp[1]) &&
	     get(sv[0], &resp[2]);
	pthread_join(ct, NULL);
	tap_ok(ok && !comp.ret && resp[1].tag == 2 && resp[1].data == 0xbbbb &&
	       resp[2].tag == 1 && resp[2].data == 0xaaaa,
	       "%s: answered out of order from another thread: tag %u = 0x%lx, tag %u = 0x%lx",
	       name, resp[1].tag, (unsigned long)resp[1].data, resp[2].tag,
	       (unsigned long)resp[2].data);

	/* A command deferred on a connection whose peer then goes. */
	c[0] = cmd(IOREGIONFD_CMD_READ, LATE, 0, 7, false);
	ok = send(b[0], c, sizeof(c[0]), 0) == sizeof(c[0]) &&
	     read(d.handoff[0], &late, sizeof(late)) == sizeof(late);
	close(b[0]);
	ok = ok && !ioregion_complete(d.dev, late, 1);
	/* The device goes on serving the other connection, and nothing else. */
	c[0] = cmd(IOREGIONFD_CMD_READ, 0x20, 0, 8, false);
	ok = ok && send(sv[0], c, sizeof(c[0]), 0) == sizeof(c[0]) &&
	     get(sv[0], &resp[0]) && resp[0].tag == 8;
	close(sv[0]);
	pthread_join(st, NULL);
	tap_ok(ok && s.ret == -EPIPE,
	       "%s: a command completed after its connection went: dropped, the others served", name);
	ioregion_dev_destroy(d.dev);
	close(sv[1]);
	close(b[1]);
	close(d.handoff[0]);
	close(d.handoff[1]);
	close(comp.go[0]);
	close(comp.go[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	run(IOREGION_ENGINE_RECV, "recv engine");
	run(IOREGION_ENGINE_URING, "io_uring engine");
	return tap_done();
}
