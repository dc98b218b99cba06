// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The event-loop API in both engines: the test's own epoll loop waits on
 * ioregion_dev_get_poll_fd() and an eventfd of its own, and calls
 * ioregion_serve(dev, 0) when the device's fd is ready.  A peer thread
 * plays KVM on two stream sockets and a seqpacket socket: round trips that
 * only complete if the loop is woken for every command, a burst of posted
 * writes, and then nothing: an idle device's fd must not stay ready (an
 * event loop would spin).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libioregion.h"
#include "tap.h"

#define ROUNDS	200
#define BURST	1000

static uint64_t regs[4];

static uint64_t rd(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	return regs[off / 8];
}

static void wr(void *o, uint64_t ud, uint64_t off, unsigned int size,
	       uint64_t data)
{
	regs[off / 8] = data;
}

static const struct ioregion_ops ops = { .read = rd, .write = wr };

struct peer {
	int fd[3];
	int done;		/* eventfd: the peer has finished */
	bool ok;
	unsigned int round_trips;
};

static bool round_trip(int fd, struct ioregionfd_cmd c, uint64_t *data)
{
	struct ioregionfd_resp r;
	size_t got = 0;
	ssize_t n;

	if (send(fd, &c, sizeof(c), MSG_NOSIGNAL) != sizeof(c))
		return false;
	while (got < sizeof(r)) {
		n = recv(fd, (char *)&r + got, sizeof(r) - got, 0);
		if (n <= 0)
			return false;
		got += n;
	}
	*data = r.data;
	return r.tag == c.tag;
}

static void *peer_thread(void *arg)
{
	static struct ioregionfd_cmd burst[BURST];
	struct peer *p = arg;
	uint64_t data, one = 1;
	unsigned int i;

	p->ok = true;
	for (i = 0; i < ROUNDS && p->ok; i++) {
		int fd = p->fd[i % 3];
		struct ioregionfd_cmd w = {
			.op = IOREGIONFD_CMD_WRITE, .size = 8, .tag = 2 * i,
			.offset = 8, .data = i, .flags = IOREGIONFD_CMD_RESPONSE,
		};
		struct ioregionfd_cmd r = {
			.op = IOREGIONFD_CMD_READ, .size = 8, .tag = 2 * i + 1,
			.offset = 8, .flags = IOREGIONFD_CMD_RESPONSE,
		};

		p->ok = round_trip(fd, w, &data) && round_trip(fd, r, &data) &&
			data == i;
		p->round_trips += p->ok ? 2 : 0;
	}
	/* Posted writes, then a read that must see the last of them. */
	for (i = 0; i < BURST; i++)
		burst[i] = (struct ioregionfd_cmd){
			.op = IOREGIONFD_CMD_WRITE, .size = 8, .tag = 1000 + i,
			.offset = 16, .data = i,
		};
	if (p->ok)
		p->ok = send(p->fd[0], burst, sizeof(burst), MSG_NOSIGNAL) == sizeof(burst) &&
			round_trip(p->fd[0], (struct ioregionfd_cmd){
				.op = IOREGIONFD_CMD_READ, .size = 8, .tag = 5000,
				.offset = 16, .flags = IOREGIONFD_CMD_RESPONSE,
			}, &data) && data == BURST - 1;
	if (write(p->done, &one, sizeof(one)) != sizeof(one))
		p->ok = false;
	return NULL;
}

static void run(enum ioregion_engine engine, const char *name)
{
	IOREGION_DEV_OPTS(opts, .engine = engine);
	struct ioregion_region r = { .user_data = 0, .size = 0x20 };
	struct epoll_event ev, out[2];
	int a[2], b[2], q[2], ep, devfd, n, i, stalls = 0, idle_ready;
	unsigned int serves = 0, empty = 0;
	struct peer p = { 0 };
	struct ioregion_dev *dev;
	pthread_t t;
	bool done = false;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q) ||
	    ioregion_dev_create(&dev, &ops, NULL, &opts) ||
	    ioregion_dev_add_region(dev, &r) ||
	    ioregion_dev_add_fds(dev, a[1], a[1]) ||
	    ioregion_dev_add_fds(dev, b[1], b[1]) ||
	    ioregion_dev_add_fds(dev, q[1], q[1])) {
		tap_ok(0, "%s: set up", name);
		return;
	}
	devfd = ioregion_dev_get_poll_fd(dev);
	tap_ok(devfd >= 0, "%s: ioregion_dev_get_poll_fd() = %d", name, devfd);
	p.fd[0] = a[0];
	p.fd[1] = b[0];
	p.fd[2] = q[0];
	p.done = eventfd(0, EFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = devfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, devfd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = p.done };
	epoll_ctl(ep, EPOLL_CTL_ADD, p.done, &ev);
	/* Commands may only be waited for once the receives are set up. */
	ioregion_serve(dev, 0);
	pthread_create(&t, NULL, peer_thread, &p);

	while (!done) {
		/* A bound, not a pace: a missed wake-up leaves the peer stuck. */
		n = epoll_wait(ep, out, 2, 5000);
		if (n == 0 && ++stalls > 1)
			break;
		for (i = 0; i < n; i++) {
			if (out[i].data.fd == p.done) {
				done = true;
				continue;
			}
			serves++;
			empty += ioregion_serve(dev, 0) == 0;
		}
	}
	/* Stuck: end the peer's wait, so that this reports, not hangs. */
	if (!done) {
		shutdown(a[1], SHUT_RDWR);
		shutdown(b[1], SHUT_RDWR);
		shutdown(q[1], SHUT_RDWR);
	}
	pthread_join(t, NULL);
	tap_ok(done && p.ok && !stalls,
	       "%s: a plain epoll loop served %u round trips on 3 fds and %d posted writes (%u serve calls, %u with nothing to handle)",
	       name, p.round_trips, BURST, serves, empty);

	/* Idle: at most a few calls finish what is in flight, then quiet. */
	for (i = 0; i < 4; i++)
		ioregion_serve(dev, 0);
	idle_ready = epoll_wait(ep, out, 2, 0);
	tap_ok(idle_ready == 1 && out[0].data.fd == p.done,
	       "%s: the idle device's fd is not ready (only the test's own eventfd is)",
	       name);

	ioregion_dev_destroy(dev);
	close(ep);
	close(p.done);
	for (i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
		close(q[i]);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	run(IOREGION_ENGINE_RECV, "recv engine");
	run(IOREGION_ENGINE_URING, "io_uring engine");
	return tap_done();
}
