// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The device side: validation, dispatch to the register callbacks, and the
 * recv engine (poll(2), then one recv(2) - recvmmsg(2) on seqpacket - per
 * readable fd that takes every command queued there, and one send(2) with
 * all their responses, never waiting for the peer to read them).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static int epoll_set(struct ioregion_dev *dev, int op, int fd, uint32_t ev,
		     struct conn *c);

/*
 * -EINVAL unless @sz covers at least the size field and every byte past
 * what this version of the library knows (@known) is zero: a caller built
 * against a newer header may only leave its new fields at their defaults.
 */
static int opts_check(const void *opts, size_t sz, size_t known)
{
	const unsigned char *p = opts;
	size_t i;

	if (sz < sizeof(size_t))
		return -EINVAL;
	for (i = known; i < sz; i++)
		if (p[i])
			return -EINVAL;
	return 0;
}

int ioregion_dev_create_v0_3(struct ioregion_dev **devp,
			     const struct ioregion_ops *ops, void *opaque,
			     const struct ioregion_dev_opts *opts);
DEFAULT_VERSION(ioregion_dev_create_v0_3, ioregion_dev_create, LIBIOREGION_0.3);
int ioregion_dev_create_v0_3(struct ioregion_dev **devp,
			     const struct ioregion_ops *ops, void *opaque,
			     const struct ioregion_dev_opts *opts)
{
	enum ioregion_engine engine;
	struct ioregion_dev *dev;
	unsigned int flags;
	int ret;

	if (!devp || !ops || !ops->read || !ops->write)
		return -EINVAL;
	if (opts && opts_check(opts, opts->sz, sizeof(*opts)))
		return -EINVAL;
	engine = OPT_GET(opts, engine, IOREGION_ENGINE_RECV);
	flags = OPT_GET(opts, flags, 0);
	if (engine != IOREGION_ENGINE_RECV && engine != IOREGION_ENGINE_URING)
		return -EINVAL;
	if (flags & ~IOREGION_F_BUSY_POLL)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->ops = ops;
	dev->opaque = opaque;
	dev->engine = engine;
	dev->flags = flags;
	dev->epfd = -1;
	dev->done_op = (struct uring_op){ .kind = OP_DONE };
	pthread_mutex_init(&dev->done_lock, NULL);
	/* Blocking: io_uring waits for it to become readable. */
	dev->done_fd = eventfd(0, EFD_CLOEXEC);
	if (dev->done_fd < 0) {
		ret = -errno;
		goto err;
	}
	if (engine == IOREGION_ENGINE_URING) {
		ret = ioregion_uring_init(dev);
	} else {
		dev->epfd = epoll_create1(EPOLL_CLOEXEC);
		ret = dev->epfd < 0 ? -errno : epoll_set(dev, EPOLL_CTL_ADD,
							  dev->done_fd, EPOLLIN,
							  NULL);
	}
	if (ret)
		goto err;
	*devp = dev;
	return 0;
err:
	if (dev->epfd >= 0)
		close(dev->epfd);
	if (dev->done_fd >= 0)
		close(dev->done_fd);
	pthread_mutex_destroy(&dev->done_lock);
	free(dev);
	return ret;
}

/* 0.1 and 0.2: the engine and flags as arguments. */
int ioregion_dev_create_v0_1(struct ioregion_dev **devp,
			     const struct ioregion_ops *ops, void *opaque,
			     enum ioregion_engine engine, unsigned int flags);
COMPAT_VERSION(ioregion_dev_create_v0_1, ioregion_dev_create, LIBIOREGION_0.1);
int ioregion_dev_create_v0_1(struct ioregion_dev **devp,
			     const struct ioregion_ops *ops, void *opaque,
			     enum ioregion_engine engine, unsigned int flags)
{
	IOREGION_DEV_OPTS(opts, .engine = engine, .flags = flags);

	return ioregion_dev_create_v0_3(devp, ops, opaque, &opts);
}

void ioregion_dev_destroy(struct ioregion_dev *dev)
{
	struct ioregion_deferred *d, *next;
	int i;

	if (!dev)
		return;
	if (dev->ring_ready)
		ioregion_uring_exit(dev);
	if (dev->epfd >= 0)
		close(dev->epfd);
	for (d = dev->done_head; d; d = next) {
		next = d->next;
		free(d);
	}
	close(dev->done_fd);
	pthread_mutex_destroy(&dev->done_lock);
	for (i = 0; i < dev->nr_conns; i++)
		free(dev->conns[i]);
	free(dev);
}

int ioregion_dev_add_region(struct ioregion_dev *dev,
			    const struct ioregion_region *region)
{
	int i;

	if (!dev || !region || region->size > INT32_MAX)
		return -EINVAL;
	for (i = 0; i < dev->nr_regions; i++)
		if (dev->regions[i].user_data == region->user_data)
			return -EEXIST;
	if (dev->nr_regions == IOREGION_MAX_REGIONS)
		return -ENOSPC;
	dev->regions[dev->nr_regions++] = *region;
	return 0;
}

static int conn_watch(struct ioregion_dev *dev, struct conn *c);

static int fd_kind(int fd, bool *sock, bool *record)
{
	socklen_t len = sizeof(int);
	struct stat st;
	int type;

	if (fstat(fd, &st))
		return -errno;
	*sock = S_ISSOCK(st.st_mode);
	*record = false;
	if (!*sock)
		return S_ISFIFO(st.st_mode) ? 0 : -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return -errno;
	if (type != SOCK_STREAM && type != SOCK_SEQPACKET)
		return -EINVAL;
	*record = type == SOCK_SEQPACKET;
	return 0;
}

int ioregion_dev_add_fds(struct ioregion_dev *dev, int read_fd, int write_fd)
{
	struct conn *c;
	int ret;

	if (!dev || read_fd < 0 || write_fd < 0)
		return -EBADF;
	if (dev->nr_conns == IOREGION_MAX_FDS)
		return -ENOSPC;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ret = fd_kind(read_fd, &c->rsock, &c->record);
	if (!ret)
		ret = fd_kind(write_fd, &c->wsock, &c->wrecord);
	if (ret) {
		free(c);
		return ret;
	}
	c->rfd = read_fd;
	c->wfd = write_fd;
	c->rx_op = (struct uring_op){ .kind = OP_RECV, .conn = c };
	c->tx_op = (struct uring_op){ .kind = OP_SEND, .conn = c };
	if (dev->epfd >= 0) {
		ret = conn_watch(dev, c);
		if (ret) {
			free(c);
			return ret;
		}
	}
	dev->conns[dev->nr_conns++] = c;
	return 0;
}

static const struct ioregion_region *find_region(const struct ioregion_dev *dev,
						 uint64_t user_data)
{
	int i;

	for (i = 0; i < dev->nr_regions; i++)
		if (dev->regions[i].user_data == user_data)
			return &dev->regions[i];
	return NULL;
}

/*
 * What KVM may send: see Documentation/virt/kvm/ioregionfd.rst.  With @dev,
 * the command must also fall inside a region added to it.
 */
int ioregion_check_cmd(const struct ioregion_dev *dev,
		       const struct ioregionfd_cmd *cmd)
{
	const struct ioregion_region *r;
	bool want = cmd->flags & IOREGIONFD_CMD_RESPONSE;

	if (cmd->op > IOREGIONFD_CMD_FENCE)
		return -EOPNOTSUPP;
	if (cmd->flags & ~IOREGIONFD_CMD_RESPONSE)
		return -EPROTO;
	if (cmd->reserved)
		return -EBADMSG;
	/* A fence waits for its answer and carries nothing. */
	if (cmd->op == IOREGIONFD_CMD_FENCE)
		return !want || cmd->size || cmd->user_data || cmd->offset ||
		       cmd->data ? -EPROTO : 0;
	if (cmd->size != 0 && cmd->size != 1 && cmd->size != 2 &&
	    cmd->size != 4 && cmd->size != 8)
		return -EINVAL;
	/* A read always waits for its answer; a doorbell never does. */
	if (cmd->op == IOREGIONFD_CMD_READ && (!want || !cmd->size))
		return -EPROTO;
	if (!cmd->size && want)
		return -EPROTO;
	if (cmd->op == IOREGIONFD_CMD_READ ? cmd->data != 0 :
	    cmd->size && cmd->size < 8 && cmd->data >> (cmd->size * 8))
		return -EOVERFLOW;
	if (!dev || !dev->nr_regions)
		return 0;
	r = find_region(dev, cmd->user_data);
	if (!r)
		return -ENOENT;
	/* A doorbell takes writes at its address, decoded (sized) or not. */
	if (!r->size ? cmd->offset != 0 || cmd->op != IOREGIONFD_CMD_WRITE :
	    !cmd->size || cmd->offset >= r->size ||
	    cmd->size > r->size - cmd->offset)
		return -ERANGE;
	return 0;
}

static void handle_cmd(struct ioregion_dev *dev, struct conn *c,
		       const struct ioregionfd_cmd *cmd)
{
	uint64_t data = 0;
	int err;

	dev->stats.commands++;
	err = ioregion_check_cmd(dev, cmd);
	if (err) {
		dev->stats.bad_commands++;
		if (dev->ops->bad_cmd)
			dev->ops->bad_cmd(dev->opaque, cmd, err);
		/* Like a PCI master abort: reads of nothing return all ones. */
		data = ~0ull;
	} else if (cmd->op == IOREGIONFD_CMD_FENCE) {
		/* Commands are handled in order: everything before it is done. */
	} else {
		dev->cur = cmd;
		dev->cur_conn = c;
		dev->cur_deferred = false;
		if (cmd->op == IOREGIONFD_CMD_WRITE)
			dev->ops->write(dev->opaque, cmd->user_data, cmd->offset,
					cmd->size, cmd->data);
		else
			data = dev->ops->read(dev->opaque, cmd->user_data,
					      cmd->offset, cmd->size);
		dev->cur = NULL;
		/* ioregion_complete() answers it. */
		if (dev->cur_deferred)
			return;
	}
	/* Never leave a vCPU waiting, even on a command we refused. */
	if (cmd->flags & IOREGIONFD_CMD_RESPONSE)
		c->tx[c->tx_n++] = (struct ioregionfd_resp){
			.data = data, .tag = cmd->tag,
		};
}

/*
 * Handle the complete commands in c->rx while c->tx has room for a
 * response; keep the rest (a command split on a stream, or commands that
 * wait for the peer to read responses) for later.
 */
void ioregion_consume(struct ioregion_dev *dev, struct conn *c)
{
	struct ioregionfd_cmd cmd;
	size_t used = 0;

	while (c->rx_len - used >= CMD_SIZE && c->tx_n < TX_MAX) {
		memcpy(&cmd, c->rx + used, CMD_SIZE);
		handle_cmd(dev, c, &cmd);
		used += CMD_SIZE;
	}
	memmove(c->rx, c->rx + used, c->rx_len - used);
	c->rx_len -= used;
}

/* A seqpacket record that is not one command: count it and drop it. */
void ioregion_bad_record(struct ioregion_dev *dev, const void *buf, size_t len)
{
	struct ioregionfd_cmd cmd = { 0 };

	dev->stats.bad_commands++;
	if (dev->ops->bad_cmd) {
		memcpy(&cmd, buf, len < CMD_SIZE ? len : CMD_SIZE);
		dev->ops->bad_cmd(dev->opaque, &cmd, -EMSGSIZE);
	}
}

/*
 * Seqpacket: every record queued on c->rfd (as many as c->rx has room
 * for) in one recvmmsg(2), each into its own slot, without waiting.
 * Returns the bytes of good commands appended to c->rx, 0 at end of file,
 * or -errno (-EAGAIN when nothing was queued).
 */
ssize_t ioregion_recv_records(struct ioregion_dev *dev, struct conn *c)
{
	struct iovec iov[RX_CMDS];
	struct mmsghdr msg[RX_CMDS];
	unsigned char *slot = c->rx + c->rx_len;
	size_t i, n = (sizeof(c->rx) - c->rx_len) / CMD_SIZE, good = 0;
	int got;

	if (!n)
		return -EAGAIN;
	memset(msg, 0, n * sizeof(msg[0]));
	for (i = 0; i < n; i++) {
		iov[i] = (struct iovec){ slot + i * CMD_SIZE, CMD_SIZE };
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	dev->stats.syscalls++;
	got = recvmmsg(c->rfd, msg, n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return -errno;
	for (i = 0; i < (size_t)got; i++) {
		/* KVM sends no empty records: one is the end of the stream. */
		if (!msg[i].msg_len)
			return good ? (ssize_t)(good * CMD_SIZE) : 0;
		if (msg[i].msg_len != CMD_SIZE ||
		    (msg[i].msg_hdr.msg_flags & MSG_TRUNC)) {
			ioregion_bad_record(dev, slot + i * CMD_SIZE,
					    msg[i].msg_len);
			continue;
		}
		if (good != i)
			memmove(slot + good * CMD_SIZE, slot + i * CMD_SIZE,
				CMD_SIZE);
		good++;
	}
	/* Only bad records: nothing to handle, and the fd is still open. */
	return good ? (ssize_t)(good * CMD_SIZE) : -EAGAIN;
}

struct ioregion_deferred *ioregion_defer(struct ioregion_dev *dev)
{
	struct ioregion_deferred *d;

	/* Only a command that waits for its answer, from its callback. */
	if (!dev || !dev->cur || dev->cur_deferred ||
	    !(dev->cur->flags & IOREGIONFD_CMD_RESPONSE)) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->conn = dev->cur_conn;
	d->tag = dev->cur->tag;
	dev->cur_deferred = true;
	return d;
}

int ioregion_complete(struct ioregion_dev *dev, struct ioregion_deferred *d,
		      uint64_t data)
{
	uint64_t one = 1;

	if (!dev || !d)
		return -EINVAL;
	d->data = data;
	d->next = NULL;
	pthread_mutex_lock(&dev->done_lock);
	/* done_head is peeked at without the lock: see ioregion_take_done(). */
	if (dev->done_tail)
		dev->done_tail->next = d;
	else
		__atomic_store_n(&dev->done_head, d, __ATOMIC_RELAXED);
	dev->done_tail = d;
	pthread_mutex_unlock(&dev->done_lock);
	/* Wake the serving thread, or the event loop. */
	if (write(dev->done_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

/*
 * Queue the responses of completed deferred commands, as far as their
 * connections have room (the rest wait for the next round); those of a
 * connection that has gone are dropped.  The engines look at done_head
 * without the lock to skip this when nothing is done: a completion they
 * miss has written done_fd, which wakes the next round.
 */
void ioregion_take_done(struct ioregion_dev *dev)
{
	struct ioregion_deferred *d, **pp, *last = NULL;

	pthread_mutex_lock(&dev->done_lock);
	for (pp = &dev->done_head; (d = *pp); ) {
		if (!d->conn->dead && d->conn->tx_n == TX_MAX) {
			last = d;
			pp = &d->next;
			continue;
		}
		if (!d->conn->dead)
			d->conn->tx[d->conn->tx_n++] = (struct ioregionfd_resp){
				.data = d->data, .tag = d->tag,
			};
		__atomic_store_n(pp, d->next, __ATOMIC_RELAXED);
		free(d);
	}
	dev->done_tail = last;
	pthread_mutex_unlock(&dev->done_lock);
}

int ioregion_live_conns(const struct ioregion_dev *dev)
{
	int i, n = 0;

	for (i = 0; i < dev->nr_conns; i++)
		n += !dev->conns[i]->dead;
	return n;
}

/*
 * Seqpacket: each response in @buf a record of its own (KVM takes one per
 * record), all in one sendmmsg(2), without waiting.  Returns the bytes
 * sent (whole responses) or -errno.
 */
ssize_t ioregion_send_records(struct ioregion_dev *dev, struct conn *c,
			      const void *buf, size_t len)
{
	struct iovec iov[TX_MAX];
	struct mmsghdr msg[TX_MAX];
	size_t i, n = len / RESP_SIZE;
	int sent;

	if (n > TX_MAX)
		n = TX_MAX;
	memset(msg, 0, n * sizeof(msg[0]));
	for (i = 0; i < n; i++) {
		iov[i] = (struct iovec){ (char *)buf + i * RESP_SIZE, RESP_SIZE };
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	dev->stats.syscalls++;
	sent = sendmmsg(c->wfd, msg, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	return sent < 0 ? -errno : (ssize_t)(sent * RESP_SIZE);
}

/* Read what is queued, without waiting; 0 at end of file. */
static ssize_t conn_read(struct ioregion_dev *dev, struct conn *c)
{
	void *buf = c->rx + c->rx_len;
	size_t len = sizeof(c->rx) - c->rx_len;
	ssize_t n;

	if (c->record)
		return ioregion_recv_records(dev, c);
	if (len < CMD_SIZE)
		return -EAGAIN;
	dev->stats.syscalls++;
	if (c->rsock)
		n = recv(c->rfd, buf, len, MSG_DONTWAIT);
	else
		n = read(c->rfd, buf, len);
	return n < 0 ? -errno : n;
}

/*
 * Send what c->tx holds, from where the last send stopped, without
 * waiting: a peer that does not read leaves the rest for a later round
 * (poll(2) says when).  A pipe has no MSG_DONTWAIT; it is written only
 * when it has room, at most PIPE_BUF bytes (which a pipe takes whole).
 */
static int conn_flush(struct ioregion_dev *dev, struct conn *c)
{
	struct pollfd pfd = { .fd = c->wfd, .events = POLLOUT };
	size_t len = c->tx_n * RESP_SIZE, left;
	char *buf;
	ssize_t n;

	while (c->tx_done < len) {
		buf = (char *)c->tx + c->tx_done;
		left = len - c->tx_done;
		if (c->wrecord) {
			n = ioregion_send_records(dev, c, buf, left);
		} else if (c->wsock) {
			dev->stats.syscalls++;
			n = send(c->wfd, buf, left, MSG_NOSIGNAL | MSG_DONTWAIT);
			n = n < 0 ? -errno : n;
		} else {
			dev->stats.syscalls += 2;
			if (poll(&pfd, 1, 0) != 1)
				return 0;
			n = write(c->wfd, buf, left < PIPE_BUF ? left : PIPE_BUF);
			n = n < 0 ? -errno : n;
		}
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n < 0)
			return n;
		c->tx_done += n;
	}
	dev->stats.responses += c->tx_n;
	c->tx_n = 0;
	c->tx_done = 0;
	return 0;
}

/* What @c can wait for now: commands it can take, room to send responses. */
static uint32_t conn_events(const struct conn *c)
{
	return c->tx_n < TX_MAX && sizeof(c->rx) - c->rx_len >= CMD_SIZE ?
	       EPOLLIN : 0;
}

static int epoll_set(struct ioregion_dev *dev, int op, int fd, uint32_t ev,
		     struct conn *c)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	return epoll_ctl(dev->epfd, op, fd, &e) ? -errno : 0;
}

/*
 * Keep the recv engine's epoll set in step with @c: level-triggered, so
 * it says "ready" exactly while there is work that needs no waiting.  The
 * set is what ioregion_dev_get_poll_fd() hands an event loop.
 */
static int conn_update(struct ioregion_dev *dev, struct conn *c)
{
	uint32_t r = conn_events(c), w = c->tx_n ? EPOLLOUT : 0;
	int ret = 0;

	if (c->dead) {
		epoll_ctl(dev->epfd, EPOLL_CTL_DEL, c->rfd, NULL);
		if (c->wfd != c->rfd)
			epoll_ctl(dev->epfd, EPOLL_CTL_DEL, c->wfd, NULL);
		return 0;
	}
	if (c->wfd == c->rfd)
		r |= w, w = r;
	if (r != c->ev_r)
		ret = epoll_set(dev, EPOLL_CTL_MOD, c->rfd, r, c);
	if (!ret && c->wfd != c->rfd && w != c->ev_w)
		ret = epoll_set(dev, EPOLL_CTL_MOD, c->wfd, w, c);
	if (!ret) {
		c->ev_r = r;
		c->ev_w = w;
	}
	return ret;
}

static int conn_watch(struct ioregion_dev *dev, struct conn *c)
{
	int ret;

	c->ev_r = c->ev_w = EPOLLIN;
	ret = epoll_set(dev, EPOLL_CTL_ADD, c->rfd, EPOLLIN, c);
	if (ret || c->wfd == c->rfd)
		return ret;
	c->ev_w = 0;
	ret = epoll_set(dev, EPOLL_CTL_ADD, c->wfd, 0, c);
	if (ret)
		epoll_ctl(dev->epfd, EPOLL_CTL_DEL, c->rfd, NULL);
	return ret;
}

/* Commands already read that can be handled now, without waiting. */
static bool conn_ready(const struct conn *c)
{
	return c->rx_len >= CMD_SIZE && c->tx_n < TX_MAX;
}

/* Send what is pending, read what is there, handle it, answer it. */
static int conn_service(struct ioregion_dev *dev, struct conn *c, uint32_t revents)
{
	ssize_t n = -EAGAIN;
	int ret;

	ret = conn_flush(dev, c);
	if (!ret && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_events(c)) {
		n = conn_read(dev, c);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
			c->dead = true;
			return 0;
		}
		if (n > 0)
			c->rx_len += n;
	}
	while (!ret && conn_ready(c)) {
		ioregion_consume(dev, c);
		ret = conn_flush(dev, c);
	}
	if (ret == -EPIPE || ret == -ECONNRESET) {
		c->dead = true;
		return 0;
	}
	return ret;
}

/* One connection's turn: service it, then its place in the epoll set. */
static int conn_step(struct ioregion_dev *dev, struct conn *c, uint32_t revents)
{
	int ret = conn_service(dev, c, revents);

	return ret ? ret : conn_update(dev, c);
}

static int recv_serve(struct ioregion_dev *dev, int timeout_ms)
{
	struct epoll_event ev[2 * IOREGION_MAX_FDS];
	uint64_t before = dev->stats.commands, one;
	int i, n, ret;
	struct conn *c;

	if (!ioregion_live_conns(dev))
		return -EPIPE;
	dev->stats.syscalls++;
	n = epoll_wait(dev->epfd, ev, 2 * IOREGION_MAX_FDS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		c = ev[i].data.ptr;
		if (!c) {		/* done_fd: deferred commands answered */
			if (read(dev->done_fd, &one, sizeof(one)) < 0 &&
			    errno != EINTR)
				return -errno;
			continue;
		}
		ret = c->dead ? 0 : conn_step(dev, c, ev[i].events);
		if (ret)
			return ret;
	}
	/* Answers of deferred commands, and any that waited for room. */
	if (__atomic_load_n(&dev->done_head, __ATOMIC_RELAXED)) {
		ioregion_take_done(dev);
		for (i = 0; i < dev->nr_conns; i++) {
			c = dev->conns[i];
			ret = c->dead || !c->tx_n ? 0 : conn_step(dev, c, 0);
			if (ret)
				return ret;
		}
	}
	n = dev->stats.commands - before;
	if (!n && !ioregion_live_conns(dev))
		return -EPIPE;
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

int ioregion_serve(struct ioregion_dev *dev, int timeout_ms)
{
	uint64_t deadline;
	int ret;

	if (!dev)
		return -EINVAL;
	if (!(dev->flags & IOREGION_F_BUSY_POLL)) {
		if (dev->engine == IOREGION_ENGINE_URING)
			return ioregion_uring_serve(dev, timeout_ms);
		return recv_serve(dev, timeout_ms);
	}
	/* Spin on what is already in the kernel's queues, never sleep. */
	deadline = now_ms() + (timeout_ms < 0 ? UINT32_MAX : (uint64_t)timeout_ms);
	do {
		if (dev->engine == IOREGION_ENGINE_URING)
			ret = ioregion_uring_serve(dev, 0);
		else
			ret = recv_serve(dev, 0);
	} while (!ret && now_ms() < deadline);
	return ret;
}

int ioregion_dev_get_poll_fd(struct ioregion_dev *dev)
{
	if (!dev)
		return -EINVAL;
	dev->poll_fd_given = true;
	return dev->engine == IOREGION_ENGINE_URING ? dev->ring.ring_fd :
	       dev->epfd;
}

int ioregion_dev_stats_v0_3(const struct ioregion_dev *dev,
			    struct ioregion_stats *stats);
DEFAULT_VERSION(ioregion_dev_stats_v0_3, ioregion_dev_stats, LIBIOREGION_0.3);
int ioregion_dev_stats_v0_3(const struct ioregion_dev *dev,
			    struct ioregion_stats *stats)
{
	struct ioregion_stats all;
	size_t sz;

	if (!dev || !stats || stats->sz < sizeof(stats->sz))
		return -EINVAL;
	sz = stats->sz;
	all = (struct ioregion_stats){
		.sz = sz,
		.commands = dev->stats.commands,
		.responses = dev->stats.responses,
		.bad_commands = dev->stats.bad_commands,
		.syscalls = dev->stats.syscalls,
	};
	/* What the caller has room for; fields it knows and we do not: 0. */
	memcpy(stats, &all, sz < sizeof(all) ? sz : sizeof(all));
	if (sz > sizeof(all))
		memset((char *)stats + sizeof(all), 0, sz - sizeof(all));
	return 0;
}

/* 0.1 and 0.2: four counters, no size. */
void ioregion_dev_stats_v0_1(const struct ioregion_dev *dev,
			     struct dev_counters *stats);
COMPAT_VERSION(ioregion_dev_stats_v0_1, ioregion_dev_stats, LIBIOREGION_0.1);
void ioregion_dev_stats_v0_1(const struct ioregion_dev *dev,
			     struct dev_counters *stats)
{
	*stats = dev->stats;
}
