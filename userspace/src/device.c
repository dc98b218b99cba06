// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The device side: validation, dispatch to the register callbacks, and the
 * recv engine (poll(2), then one recv(2) per readable fd that takes every
 * command queued there, and one send(2) with all their responses).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int ioregion_dev_create(struct ioregion_dev **devp,
			const struct ioregion_ops *ops, void *opaque,
			enum ioregion_engine engine, unsigned int flags)
{
	struct ioregion_dev *dev;
	int ret;

	if (!devp || !ops || !ops->read || !ops->write)
		return -EINVAL;
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
	if (engine == IOREGION_ENGINE_URING) {
		ret = ioregion_uring_init(dev);
		if (ret) {
			free(dev);
			return ret;
		}
	}
	*devp = dev;
	return 0;
}

void ioregion_dev_destroy(struct ioregion_dev *dev)
{
	int i;

	if (!dev)
		return;
	if (dev->ring_ready)
		ioregion_uring_exit(dev);
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
	bool wrecord;
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
		ret = fd_kind(write_fd, &c->wsock, &wrecord);
	if (ret) {
		free(c);
		return ret;
	}
	c->rfd = read_fd;
	c->wfd = write_fd;
	c->rx_op = (struct uring_op){ .kind = OP_RECV, .conn = c };
	c->tx_op = (struct uring_op){ .kind = OP_SEND, .conn = c };
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
	} else if (cmd->op == IOREGIONFD_CMD_WRITE) {
		dev->ops->write(dev->opaque, cmd->user_data, cmd->offset,
				cmd->size, cmd->data);
	} else {
		data = dev->ops->read(dev->opaque, cmd->user_data, cmd->offset,
				      cmd->size);
	}
	/* Never leave a vCPU waiting, even on a command we refused. */
	if (cmd->flags & IOREGIONFD_CMD_RESPONSE)
		c->tx[c->tx_n++] = (struct ioregionfd_resp){
			.data = data, .tag = cmd->tag,
		};
}

/*
 * Handle the complete commands in @buf; returns the bytes used.  The caller
 * keeps the rest (a command split on a stream) for the next read.
 */
size_t ioregion_consume(struct ioregion_dev *dev, struct conn *c,
			const unsigned char *buf, size_t len)
{
	struct ioregionfd_cmd cmd;
	size_t used = 0;

	while (len - used >= CMD_SIZE) {
		memcpy(&cmd, buf + used, CMD_SIZE);
		handle_cmd(dev, c, &cmd);
		used += CMD_SIZE;
	}
	return used;
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

int ioregion_live_conns(const struct ioregion_dev *dev)
{
	int i, n = 0;

	for (i = 0; i < dev->nr_conns; i++)
		n += !dev->conns[i]->dead;
	return n;
}

static ssize_t conn_read(struct ioregion_dev *dev, struct conn *c)
{
	struct msghdr msg = { 0 };
	struct iovec iov = {
		.iov_base = c->rx + c->rx_len,
		.iov_len = sizeof(c->rx) - c->rx_len,
	};
	ssize_t n;

	dev->stats.syscalls++;
	if (!c->rsock) {
		n = read(c->rfd, iov.iov_base, iov.iov_len);
		return n < 0 ? -errno : n;
	}
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	n = recvmsg(c->rfd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n > 0 && c->record && (n != CMD_SIZE || (msg.msg_flags & MSG_TRUNC))) {
		ioregion_bad_record(dev, iov.iov_base, n);
		return -EAGAIN;
	}
	return n;
}

static int conn_flush(struct ioregion_dev *dev, struct conn *c)
{
	size_t len = c->tx_n * RESP_SIZE, done = 0;
	ssize_t n;

	while (done < len) {
		dev->stats.syscalls++;
		if (c->wsock)
			n = send(c->wfd, (char *)c->tx + done, len - done,
				 MSG_NOSIGNAL);
		else
			n = write(c->wfd, (char *)c->tx + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	dev->stats.responses += c->tx_n;
	c->tx_n = 0;
	return 0;
}

/* Read what is there, handle it, answer it. */
static int conn_service(struct ioregion_dev *dev, struct conn *c)
{
	size_t used;
	ssize_t n;
	int ret;

	n = conn_read(dev, c);
	if (n == -EAGAIN || n == -EINTR)
		return 0;
	if (n <= 0) {
		c->dead = true;
		return 0;
	}
	c->rx_len += n;
	used = ioregion_consume(dev, c, c->rx, c->rx_len);
	memmove(c->rx, c->rx + used, c->rx_len - used);
	c->rx_len -= used;
	ret = conn_flush(dev, c);
	if (ret == -EPIPE || ret == -ECONNRESET) {
		c->dead = true;
		return 0;
	}
	return ret;
}

static int recv_serve(struct ioregion_dev *dev, int timeout_ms)
{
	struct pollfd pfd[IOREGION_MAX_FDS];
	struct conn *live[IOREGION_MAX_FDS];
	int i, n = 0, ret, handled;
	uint64_t before = dev->stats.commands;

	for (i = 0; i < dev->nr_conns; i++) {
		if (dev->conns[i]->dead)
			continue;
		live[n] = dev->conns[i];
		pfd[n] = (struct pollfd){ .fd = live[n]->rfd, .events = POLLIN };
		n++;
	}
	if (!n)
		return -EPIPE;
	dev->stats.syscalls++;
	ret = poll(pfd, n, timeout_ms);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		ret = conn_service(dev, live[i]);
		if (ret)
			return ret;
	}
	handled = dev->stats.commands - before;
	if (!handled && !ioregion_live_conns(dev))
		return -EPIPE;
	return handled;
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

void ioregion_dev_stats(const struct ioregion_dev *dev,
			struct ioregion_stats *stats)
{
	*stats = dev->stats;
}
