// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The io_uring engine: every live fd keeps one receive in flight, so one
 * io_uring_enter(2) both sends the last round's responses and waits for
 * commands on all fds, and each completion may carry many commands.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* A receive and a send per fd, and the read of done_fd. */
#define RING_ENTRIES	(2 * IOREGION_MAX_FDS + 2)

/*
 * The ring starts disabled and may only ever carry what the engine sends:
 * io_uring requests bypass seccomp, and a confined process must not be
 * able to open files or sockets through it.
 */
static const unsigned char ring_ops[] = {
	IORING_OP_RECV, IORING_OP_SEND, IORING_OP_READ, IORING_OP_WRITE,
	IORING_OP_ASYNC_CANCEL,
};

int ioregion_uring_init(struct ioregion_dev *dev)
{
	struct io_uring_restriction res[sizeof(ring_ops)] = { 0 };
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	unsigned int i;
	int ret;

	ret = io_uring_queue_init_params(RING_ENTRIES, &dev->ring, &p);
	if (ret)
		return ret;
	for (i = 0; i < sizeof(ring_ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ring_ops[i];
	}
	/* liburing 2.3 declares, but does not export, the wrappers. */
	if (syscall(__NR_io_uring_register, dev->ring.ring_fd,
		    IORING_REGISTER_RESTRICTIONS, res, sizeof(ring_ops)) ||
	    syscall(__NR_io_uring_register, dev->ring.ring_fd,
		    IORING_REGISTER_ENABLE_RINGS, NULL, 0))
		ret = -errno;
	if (ret) {
		io_uring_queue_exit(&dev->ring);
		return ret;
	}
	dev->ring_ready = true;
	return 0;
}

static bool in_flight(const struct ioregion_dev *dev)
{
	int i;

	if (dev->done_armed)
		return true;
	for (i = 0; i < dev->nr_conns; i++)
		if (dev->conns[i]->rx_armed || dev->conns[i]->tx_busy)
			return true;
	return false;
}

/* Cancel what is in flight and wait for it: the buffers go away next. */
void ioregion_uring_exit(struct ioregion_dev *dev)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&dev->ring);
	struct io_uring_cqe *cqe;
	struct uring_op *op;

	if (sqe && in_flight(dev)) {
		io_uring_prep_cancel(sqe, NULL, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data(sqe, NULL);
		io_uring_submit(&dev->ring);
		while (in_flight(dev) && !io_uring_wait_cqe(&dev->ring, &cqe)) {
			op = io_uring_cqe_get_data(cqe);
			if (op && op->kind == OP_RECV)
				op->conn->rx_armed = false;
			else if (op && op->kind == OP_SEND)
				op->conn->tx_busy = false;
			else if (op)
				dev->done_armed = false;
			io_uring_cqe_seen(&dev->ring, cqe);
		}
	}
	io_uring_queue_exit(&dev->ring);
	dev->ring_ready = false;
}

/* Whether @c can take commands: room to read them, and to answer them. */
static bool can_recv(const struct conn *c)
{
	return !c->dead && !c->rx_armed && c->tx_n < TX_MAX &&
	       sizeof(c->rx) - c->rx_len >= CMD_SIZE + c->record;
}

static void arm_recv(struct ioregion_dev *dev, struct conn *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&dev->ring);
	void *buf = c->rx + c->rx_len;
	/* One record at a time on seqpacket: each is checked on its own. */
	size_t len = c->record ? CMD_SIZE + 1 : sizeof(c->rx) - c->rx_len;

	/* The ring has room for one receive and one send per fd. */
	if (c->rsock)
		io_uring_prep_recv(sqe, c->rfd, buf, len, 0);
	else
		io_uring_prep_read(sqe, c->rfd, buf, len, -1);
	io_uring_sqe_set_data(sqe, &c->rx_op);
	c->rx_armed = true;
}

static void queue_send(struct ioregion_dev *dev, struct conn *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&dev->ring);
	char *buf = (char *)c->tx_buf + c->tx_buf_done;
	size_t len = c->tx_len - c->tx_buf_done;

	/* Seqpacket: a response is a record of its own. */
	if (c->wrecord)
		len = RESP_SIZE;
	if (c->wsock)
		io_uring_prep_send(sqe, c->wfd, buf, len, MSG_NOSIGNAL);
	else
		io_uring_prep_write(sqe, c->wfd, buf, len, -1);
	io_uring_sqe_set_data(sqe, &c->tx_op);
	c->tx_busy = true;
}

/*
 * Send the rest of tx_buf.  On seqpacket, sendmmsg(2) takes as many
 * records as the socket has room for at once; the ring sends the next
 * one only when it has none (it waits for room, and says when).
 */
static void send_more(struct ioregion_dev *dev, struct conn *c)
{
	ssize_t n;

	if (c->wrecord) {
		n = ioregion_send_records(dev, c, (char *)c->tx_buf + c->tx_buf_done,
					  c->tx_len - c->tx_buf_done);
		if (n < 0 && n != -EAGAIN && n != -EINTR) {
			c->dead = true;
			return;
		}
		if (n > 0)
			c->tx_buf_done += n;
		if (c->tx_buf_done == c->tx_len) {
			dev->stats.responses += c->tx_count;
			return;
		}
	}
	queue_send(dev, c);
}

/* Hand the responses gathered since the last send over; true if to the ring. */
static bool start_send(struct ioregion_dev *dev, struct conn *c)
{
	if (c->tx_busy || !c->tx_n || c->dead)
		return false;
	memcpy(c->tx_buf, c->tx, c->tx_n * RESP_SIZE);
	c->tx_len = c->tx_n * RESP_SIZE;
	c->tx_buf_done = 0;
	c->tx_count = c->tx_n;
	c->tx_n = 0;
	send_more(dev, c);
	return c->tx_busy;
}

static void complete_recv(struct ioregion_dev *dev, struct conn *c, int res)
{
	ssize_t more;

	c->rx_armed = false;
	if (res == -EINTR || res == -EAGAIN)
		return;
	if (res <= 0) {
		c->dead = true;
		return;
	}
	if (c->record && res != CMD_SIZE) {
		ioregion_bad_record(dev, c->rx + c->rx_len, res);
		return;
	}
	c->rx_len += res;
	/*
	 * A seqpacket receive takes one record: take the rest of what is
	 * queued in one more system call, not one round each.
	 */
	if (c->record) {
		more = ioregion_recv_records(dev, c);
		if (more > 0)
			c->rx_len += more;
		else if (!more)
			c->dead = true;
	}
	/* Handled after the reap, with the rest of the round's commands. */
}

static void complete_send(struct ioregion_dev *dev, struct conn *c, int res)
{
	c->tx_busy = false;
	if (res == -EINTR || res == -EAGAIN) {
		queue_send(dev, c);
		return;
	}
	if (res < 0) {
		c->dead = true;
		return;
	}
	c->tx_buf_done += res;
	if (c->tx_buf_done < c->tx_len) {
		send_more(dev, c);
		return;
	}
	dev->stats.responses += c->tx_count;
}

static void reap(struct ioregion_dev *dev)
{
	struct io_uring_cqe *cqe;
	struct uring_op *op;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&dev->ring, head, cqe) {
		op = io_uring_cqe_get_data(cqe);
		/* A cancellation has no op. */
		if (op && op->kind == OP_RECV)
			complete_recv(dev, op->conn, cqe->res);
		else if (op && op->kind == OP_SEND)
			complete_send(dev, op->conn, cqe->res);
		else if (op)
			dev->done_armed = false;	/* deferred ones done */
		n++;
	}
	io_uring_cq_advance(&dev->ring, n);
}

/*
 * Arm a receive on every fd that can take commands; returns how many.
 * Done at the end of every round too, so that with an event loop on the
 * ring's fd (ioregion_dev_get_poll_fd()) it becomes readable when the next
 * commands arrive, with nothing left for the loop to submit.
 */
static unsigned int arm_all(struct ioregion_dev *dev)
{
	struct io_uring_sqe *sqe;
	unsigned int n = 0;
	int i;

	if (!dev->done_armed) {
		sqe = io_uring_get_sqe(&dev->ring);
		io_uring_prep_read(sqe, dev->done_fd, &dev->done_buf,
				   sizeof(dev->done_buf), -1);
		io_uring_sqe_set_data(sqe, &dev->done_op);
		dev->done_armed = true;
	}
	for (i = 0; i < dev->nr_conns; i++) {
		if (can_recv(dev->conns[i])) {
			arm_recv(dev, dev->conns[i]);
			n++;
		}
	}
	return n;
}

int ioregion_uring_serve(struct ioregion_dev *dev, int timeout_ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (timeout_ms % 1000) * 1000000ll,
	};
	uint64_t before = dev->stats.commands;
	struct io_uring_cqe *cqe;
	bool sent = false;
	int i, ret;

	arm_all(dev);
	if (!ioregion_live_conns(dev) && !io_uring_cq_ready(&dev->ring))
		return -EPIPE;

	if (timeout_ms) {
		/* One system call: submit, then sleep until a completion. */
		dev->stats.syscalls++;
		ret = io_uring_submit_and_wait_timeout(&dev->ring, &cqe, 1,
						       timeout_ms < 0 ? NULL : &ts,
						       NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR)
			return ret;
	} else if (io_uring_sq_ready(&dev->ring)) {
		dev->stats.syscalls++;
		ret = io_uring_submit(&dev->ring);
		if (ret < 0)
			return ret;
	}
	reap(dev);

	/*
	 * A vCPU waits for these: send them now, not on the next round.
	 * Commands left in rx for want of room in tx go as tx empties.
	 * The receives the round used up are armed again in the same
	 * submission.
	 */
	if (__atomic_load_n(&dev->done_head, __ATOMIC_RELAXED))
		ioregion_take_done(dev);
	for (i = 0; i < dev->nr_conns; i++) {
		struct conn *c = dev->conns[i];

		/* Also a connection that has just gone: apply what it sent. */
		ioregion_consume(dev, c);
		sent |= start_send(dev, c);
	}
	/*
	 * The receives go with the sends; without sends they would wait for
	 * the next round's submission, unless an event loop waits on the
	 * ring's fd, which must then see them.
	 */
	arm_all(dev);
	if ((sent || dev->poll_fd_given) && io_uring_sq_ready(&dev->ring)) {
		dev->stats.syscalls++;
		ret = io_uring_submit(&dev->ring);
		if (ret < 0)
			return ret;
	}
	if (dev->stats.commands == before && !ioregion_live_conns(dev))
		return -EPIPE;
	return dev->stats.commands - before;
}
