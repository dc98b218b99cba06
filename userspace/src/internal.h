/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
#ifndef LIBIOREGION_INTERNAL_H
#define LIBIOREGION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <liburing.h>
#include <pthread.h>
#include <linux/kvm.h>

#include "libioregion.h"

/*
 * Built against the headers of a kernel without the series (a
 * distribution's): the uAPI as KVM_CAP_IOREGIONFD defines it.
 * userspace/test/uapi_layout.c (the real header) and test/layout.c (this
 * copy) check both against the same numbers.
 */
#ifndef KVM_SET_IOREGION
#define KVM_CAP_IOREGIONFD		252
#define KVM_IOREGION_PIO		(1 << 0)
#define KVM_IOREGION_POSTED_WRITES	(1 << 1)
#define KVM_IOREGION_DEASSIGN		(1 << 2)
#define KVM_IOREGION_GROUP		(1 << 3)
struct kvm_ioregion {
	__u64 guest_paddr;
	__u64 memory_size;
	__u64 user_data;
	__s32 read_fd;
	__s32 write_fd;
	__u32 flags;
	__u32 timeout_ms;
	__s32 group_fd;
	__u32 pad1;
	__u64 shadow_offset;
	__u8  pad[16];
};
struct kvm_ioregion_group {
	__u64 shadow_size;
	__u32 flags;
	__u8  pad[20];
};
#define KVM_SET_IOREGION	_IOW(KVMIO, 0xd6, struct kvm_ioregion)
#define KVM_CREATE_IOREGION_GROUP _IOW(KVMIO, 0xd7, struct kvm_ioregion_group)
#endif

/* SCM_RIGHTS helpers (layout.c), for the control socket and vfio-user. */
struct iovec;
ssize_t ioregion_sendmsg_fds(int fd, const struct iovec *iov, int iovcnt,
			     const int *fds, int nr);
void ioregion_close_fds(int *fds, int nr);

#define CMD_SIZE	sizeof(struct ioregionfd_cmd)
#define RESP_SIZE	sizeof(struct ioregionfd_resp)
#define RX_CMDS		128
#define RX_BYTES	(RX_CMDS * CMD_SIZE)
/* Responses not yet sent; past this a connection takes no more commands. */
#define TX_MAX		128

enum op_kind { OP_RECV, OP_SEND, OP_DONE };

/* What an io_uring completion refers to. */
struct uring_op {
	enum op_kind kind;
	struct conn *conn;
};

/*
 * One transport: commands come in on rfd, responses go out on wfd.
 * Commands are read into rx and handled only while tx has room for their
 * response, so a peer that stops reading responses stops the connection,
 * never overruns it.
 */
struct conn {
	int rfd, wfd;
	bool record;			/* seqpacket: a message per read */
	bool wrecord;			/* seqpacket: a message per response */
	bool rsock, wsock;
	bool dead;
	/* recv engine: what the epoll set waits for on rfd and on wfd. */
	uint32_t ev_r, ev_w;
	unsigned char rx[RX_BYTES];
	size_t rx_len;
	/*
	 * Responses not yet sent; the recv engine has sent the first tx_done
	 * bytes of them (a partial send is resumed, never repeated).
	 */
	struct ioregionfd_resp tx[TX_MAX];
	size_t tx_n, tx_done;
	/* io_uring: at most one receive and one send in flight per fd. */
	struct uring_op rx_op, tx_op;
	bool rx_armed, tx_busy;
	struct ioregionfd_resp tx_buf[TX_MAX];
	size_t tx_len, tx_buf_done, tx_count;
};

/* A command a callback took to answer later (ioregion_defer()). */
struct ioregion_deferred {
	struct conn *conn;
	uint32_t tag;
	uint64_t data;
	struct ioregion_deferred *next;
};

/* The counters behind ioregion_dev_stats(). */
struct dev_counters {
	uint64_t commands;
	uint64_t responses;
	uint64_t bad_commands;
	uint64_t syscalls;
};

/*
 * Growable structures (libbpf's opts convention): a field is the caller's
 * if it lies within the caller's @sz, else it takes its default.
 */
#define OPT_HAS(o, field)						\
	((o) && offsetof(typeof(*(o)), field) + sizeof((o)->field) <= (o)->sz)
#define OPT_GET(o, field, def)	(OPT_HAS(o, field) ? (o)->field : (def))

/*
 * Symbol versions: a function whose signature changed keeps its old
 * version for binaries linked against it (src/libioregion.map).
 */
#define COMPAT_VERSION(impl, api, ver)	\
	__asm__(".symver " #impl "," #api "@" #ver)
#define DEFAULT_VERSION(impl, api, ver)	\
	__asm__(".symver " #impl "," #api "@@" #ver)

struct ioregion_dev {
	const struct ioregion_ops *ops;
	void *opaque;
	enum ioregion_engine engine;
	unsigned int flags;
	struct ioregion_region regions[IOREGION_MAX_REGIONS];
	int nr_regions;
	struct conn *conns[IOREGION_MAX_FDS];
	int nr_conns;
	struct dev_counters stats;
	struct io_uring ring;
	bool ring_ready;
	int epfd;			/* recv engine: every live fd */
	bool poll_fd_given;		/* an event loop waits on it */
	/* Deferred commands. */
	const struct ioregionfd_cmd *cur;	/* in a callback: its command */
	struct conn *cur_conn;
	bool cur_deferred;
	pthread_mutex_t done_lock;	/* protects done_head, done_tail */
	struct ioregion_deferred *done_head, *done_tail;
	int done_fd;			/* eventfd: something is done */
	uint64_t done_buf;		/* io_uring reads done_fd here */
	struct uring_op done_op;
	bool done_armed;
};

void ioregion_consume(struct ioregion_dev *dev, struct conn *c);
ssize_t ioregion_recv_records(struct ioregion_dev *dev, struct conn *c);
ssize_t ioregion_send_records(struct ioregion_dev *dev, struct conn *c,
			      const void *buf, size_t len);
int ioregion_uring_init(struct ioregion_dev *dev);
void ioregion_uring_exit(struct ioregion_dev *dev);
int ioregion_uring_serve(struct ioregion_dev *dev, int timeout_ms);
int ioregion_live_conns(const struct ioregion_dev *dev);
void ioregion_take_done(struct ioregion_dev *dev);
void ioregion_bad_record(struct ioregion_dev *dev, const void *buf, size_t len);

#endif
