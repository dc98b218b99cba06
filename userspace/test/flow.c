// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * Responses under back-pressure, in both engines, with the test playing
 * KVM: a peer that stops reading responses while it keeps sending reads
 * (the device must stop taking commands, not overrun its queue), a peer
 * that then reads one byte at a time from an O_NONBLOCK socket (every
 * response exactly once, in order: a partial send is resumed, never
 * repeated), ioregion_serve()'s timeout honoured while the peer does not
 * read, and a seqpacket burst taken in a few system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libioregion.h"
#include "tap.h"

/* Far more than the library's queues and the socket buffers hold. */
#define NR_READS	2048
#define NR_RECORDS	64

static uint64_t rd(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	return off;
}

static void wr(void *o, uint64_t ud, uint64_t off, unsigned int size,
	       uint64_t data)
{
}

static const struct ioregion_ops ops = { .read = rd, .write = wr };

static struct ioregionfd_cmd read_cmd(uint32_t tag)
{
	return (struct ioregionfd_cmd){
		.op = IOREGIONFD_CMD_READ, .size = 4, .tag = tag,
		.offset = tag % 0x1000, .flags = IOREGIONFD_CMD_RESPONSE,
	};
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void small_buffers(int dev_fd, int peer_fd)
{
	int sz = 4096;

	setsockopt(dev_fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(peer_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/*
 * The peer writes NR_READS reads while it reads no response; the device is
 * served until it has nothing more it can do.  Then the peer reads the
 * responses one byte at a time and checks each tag once, in order.
 */
static void stalled_peer(enum ioregion_engine engine, const char *name,
			 bool nonblock)
{
	IOREGION_DEV_OPTS(opts, .engine = engine);
	struct ioregion_region r = { .user_data = 0, .size = 0x1000 };
	struct ioregionfd_resp resp;
	struct ioregion_dev *dev;
	unsigned int sent = 0, got = 0, bad = 0, i;
	struct ioregionfd_cmd c;
	uint64_t start;
	int sv[2], ret = 0, idle = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		tap_ok(0, "%s: socketpair: %s", name, strerror(errno));
		return;
	}
	small_buffers(sv[1], sv[0]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	if (nonblock)
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (ioregion_dev_create(&dev, &ops, NULL, &opts) ||
	    ioregion_dev_add_region(dev, &r) ||
	    ioregion_dev_add_fds(dev, sv[1], sv[1])) {
		tap_ok(0, "%s: device set up", name);
		return;
	}

	/*
	 * Commands in, responses never read: a serve call with a timeout must
	 * come back (the peer is not reading, and never will in this phase).
	 */
	start = now_ms();
	while (idle < 3 && now_ms() - start < 20000) {
		while (sent < NR_READS) {
			c = read_cmd(sent);
			if (send(sv[0], &c, sizeof(c), MSG_DONTWAIT) != sizeof(c))
				break;
			sent++;
		}
		ret = ioregion_serve(dev, 50);
		if (ret < 0)
			break;
		idle = ret ? 0 : idle + 1;
	}
	tap_ok(ret >= 0 && now_ms() - start < 20000,
	       "%s%s: the peer stopped reading: serve kept its 50 ms timeout (%d, %u commands queued)",
	       name, nonblock ? " (O_NONBLOCK)" : "", ret, sent);

	/* Now read, a byte at a time, while the device goes on serving. */
	start = now_ms();
	while (got < NR_READS && now_ms() - start < 20000) {
		while (sent < NR_READS) {
			c = read_cmd(sent);
			if (send(sv[0], &c, sizeof(c), MSG_DONTWAIT) != sizeof(c))
				break;
			sent++;
		}
		for (i = 0; i < sizeof(resp); i++) {
			while (recv(sv[0], (char *)&resp + i, 1, 0) != 1) {
				if (errno != EAGAIN || ioregion_serve(dev, 10) < 0)
					goto out;
			}
		}
		if (resp.tag != got || resp.data != got % 0x1000)
			bad++;
		got++;
	}
out:
	tap_ok(got == NR_READS && !bad,
	       "%s%s: then read a byte at a time: %u of %u responses, %u out of order or repeated",
	       name, nonblock ? " (O_NONBLOCK)" : "", got, NR_READS, bad);
	/* Nothing more may come: a repeated response would be here. */
	while (ioregion_serve(dev, 0) > 0)
		;
	tap_ok(recv(sv[0], &resp, sizeof(resp), MSG_DONTWAIT) < 0 && errno == EAGAIN,
	       "%s%s: no response beyond the last", name, nonblock ? " (O_NONBLOCK)" : "");
	ioregion_dev_destroy(dev);
	close(sv[0]);
	close(sv[1]);
}

/* NR_RECORDS seqpacket commands queued before the device looks. */
static void seqpacket_burst(enum ioregion_engine engine, const char *name)
{
	IOREGION_DEV_OPTS(opts, .engine = engine);
	struct ioregion_region r = { .user_data = 0, .size = 0x1000 };
	struct ioregionfd_resp resp[NR_RECORDS];
	IOREGION_STATS(st);
	struct ioregion_dev *dev;
	struct ioregionfd_cmd c;
	unsigned int i, got = 0;
	bool ok = true;
	ssize_t n;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) ||
	    ioregion_dev_create(&dev, &ops, NULL, &opts) ||
	    ioregion_dev_add_region(dev, &r) ||
	    ioregion_dev_add_fds(dev, sv[1], sv[1])) {
		tap_ok(0, "%s: seqpacket set up", name);
		return;
	}
	for (i = 0; i < NR_RECORDS; i++) {
		c = read_cmd(i);
		ok &= send(sv[0], &c, sizeof(c), 0) == sizeof(c);
	}
	while (ok && got < NR_RECORDS && ioregion_serve(dev, 1000) > 0) {
		while ((n = recv(sv[0], &resp[got], sizeof(resp[0]), MSG_DONTWAIT)) ==
		       sizeof(resp[0]))
			ok &= resp[got].tag == got, got++;
	}
	ioregion_dev_stats(dev, &st);
	tap_ok(ok && got == NR_RECORDS && st.syscalls <= 8,
	       "%s: %u seqpacket commands answered in order with %lu system calls",
	       name, got, (unsigned long)st.syscalls);
	ioregion_dev_destroy(dev);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	/* A hang is this test's failure mode: show how far it got. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	stalled_peer(IOREGION_ENGINE_RECV, "recv engine", false);
	stalled_peer(IOREGION_ENGINE_RECV, "recv engine", true);
	stalled_peer(IOREGION_ENGINE_URING, "io_uring engine", false);
	stalled_peer(IOREGION_ENGINE_URING, "io_uring engine", true);
	seqpacket_burst(IOREGION_ENGINE_RECV, "recv engine");
	seqpacket_burst(IOREGION_ENGINE_URING, "io_uring engine");
	return tap_done();
}
