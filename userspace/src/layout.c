// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * Layouts and the control socket.  A device proposes the regions it wants
 * inside the VMM's grant; nothing it proposes reaches KVM_SET_IOREGION
 * before ioregion_check_layout() has accepted it, so a device cannot move
 * itself from port I/O into MMIO, outside its window, onto another
 * device's registers or into posted writes the VMM did not allow.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define PIO_LIMIT	0x10000ull
#define REGION_MAX	((uint64_t)INT_MAX)	/* KVM's limit on one region */

static bool overlaps(const struct ioregion_layout_entry *a,
		     const struct ioregion_layout_entry *b)
{
	/* A doorbell takes the address it sits at. */
	uint64_t a_end = a->offset + (a->size ? a->size : 1);
	uint64_t b_end = b->offset + (b->size ? b->size : 1);

	return a->offset < b_end && b->offset < a_end;
}

static int check_entry(const struct ioregion_grant *g,
		       const struct ioregion_layout_entry *e)
{
	bool pio = g->flags & IOREGION_GRANT_PIO;

	if (e->reserved || e->flags & ~(IOREGION_LAYOUT_PIO | IOREGION_LAYOUT_POSTED))
		return -EINVAL;
	if (!!(e->flags & IOREGION_LAYOUT_PIO) != pio)
		return -EPERM;
	if ((e->flags & IOREGION_LAYOUT_POSTED) && !(g->flags & IOREGION_GRANT_POSTED))
		return -EPERM;
	if (!e->size && (pio || !(e->flags & IOREGION_LAYOUT_POSTED)))
		return -EINVAL;
	if (e->offset + e->size < e->offset)
		return -EOVERFLOW;
	if (e->offset >= g->size || e->size > g->size - e->offset)
		return -ERANGE;
	if (e->size > REGION_MAX)
		return -EFBIG;
	return 0;
}

int ioregion_check_layout(const struct ioregion_grant *g,
			  const struct ioregion_layout *l)
{
	uint32_t i, j;
	int ret;

	if (!g || !l)
		return -EINVAL;
	if (g->flags & ~(IOREGION_GRANT_PIO | IOREGION_GRANT_POSTED) || !g->size ||
	    g->base + g->size < g->base ||
	    (g->flags & IOREGION_GRANT_PIO && g->base + g->size > PIO_LIMIT))
		return -EINVAL;
	if (l->reserved || !l->nr)
		return -EINVAL;
	if (l->nr > IOREGION_LAYOUT_MAX)
		return -E2BIG;
	for (i = 0; i < l->nr; i++) {
		ret = check_entry(g, &l->e[i]);
		if (ret)
			return ret;
		for (j = 0; j < i; j++)
			if (overlaps(&l->e[i], &l->e[j]))
				return -EEXIST;
	}
	return 0;
}

/* Control messages: fixed size, one per sendmsg(2), fds as SCM_RIGHTS. */
#define CTL_MAGIC	0x494f524cu	/* "IORL" */
#define CTL_VERSION	1
enum { CTL_PROPOSAL = 1, CTL_REPLY = 2 };

struct ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;
};

/*
 * The wire form of a layout: its own definition, so that the public
 * struct ioregion_layout can change without changing what two processes
 * built against different versions of the library exchange.
 */
struct ctl_entry {
	uint64_t offset;
	uint64_t size;
	uint64_t user_data;
	uint32_t flags;
	uint32_t reserved;
};

#define CTL_MAX_ENTRIES	16

struct ctl_proposal {
	struct ctl_hdr hdr;
	uint32_t nr;
	uint32_t reserved;
	struct ctl_entry e[CTL_MAX_ENTRIES];
};

_Static_assert(sizeof(struct ctl_proposal) == 16 + 32 * CTL_MAX_ENTRIES,
	       "the control protocol's proposal is 528 bytes");
_Static_assert(IOREGION_LAYOUT_MAX <= CTL_MAX_ENTRIES,
	       "a layout must fit in a proposal");

/* @l has at most IOREGION_LAYOUT_MAX entries: the caller checked. */
static void layout_to_wire(struct ctl_proposal *p, const struct ioregion_layout *l)
{
	uint32_t i;

	p->nr = l->nr;
	p->reserved = l->reserved;
	for (i = 0; i < l->nr; i++) {
		p->e[i].offset = l->e[i].offset;
		p->e[i].size = l->e[i].size;
		p->e[i].user_data = l->e[i].user_data;
		p->e[i].flags = l->e[i].flags;
		p->e[i].reserved = l->e[i].reserved;
	}
}

/* -E2BIG: more entries than this version's struct ioregion_layout holds. */
static int layout_from_wire(struct ioregion_layout *l, const struct ctl_proposal *p)
{
	uint32_t i;

	if (p->nr > IOREGION_LAYOUT_MAX)
		return -E2BIG;
	memset(l, 0, sizeof(*l));
	l->nr = p->nr;
	l->reserved = p->reserved;
	for (i = 0; i < p->nr; i++) {
		l->e[i].offset = p->e[i].offset;
		l->e[i].size = p->e[i].size;
		l->e[i].user_data = p->e[i].user_data;
		l->e[i].flags = p->e[i].flags;
		l->e[i].reserved = p->e[i].reserved;
	}
	return 0;
}

struct ctl_reply {
	struct ctl_hdr hdr;
	int32_t status;		/* 0 or a negative errno from the VMM */
	uint32_t nr_fds;
};

union ctl_cmsg {
	char buf[CMSG_SPACE(sizeof(int) * IOREGION_REPLY_MAX_FDS)];
	struct cmsghdr align;
};

/*
 * One sendmsg(2) of @iov with @nr (at most IOREGION_REPLY_MAX_FDS) fds as
 * SCM_RIGHTS, retried on EINTR: the bytes sent, or -errno.  Also the
 * vfio-user client's (vfu.c).
 */
ssize_t ioregion_sendmsg_fds(int fd, const struct iovec *iov, int iovcnt,
			     const int *fds, int nr)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	union ctl_cmsg u;
	struct cmsghdr *cm;
	ssize_t n;

	if (nr) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nr);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nr);
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int ctl_send(int fd, const void *msg, size_t len, const int *fds, int nr)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	ssize_t n = ioregion_sendmsg_fds(fd, &iov, 1, fds, nr);

	if (n < 0)
		return n;
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Close @nr fds; -1 entries are skipped. */
void ioregion_close_fds(int *fds, int nr)
{
	while (nr-- > 0)
		if (fds[nr] >= 0)
			close(fds[nr]);
}

/*
 * Receive one message of exactly @len bytes of @kind, with the fds that
 * came along in @fds/@nr.  On an error no fd is left open.
 */
static int ctl_recv(int fd, void *msg, size_t len, uint16_t kind, int *fds, int *nr)
{
	struct iovec iov = { .iov_base = msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	const struct ctl_hdr *hdr = msg;
	union ctl_cmsg u;
	struct cmsghdr *cm;
	ssize_t n;
	int ret = 0;

	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	do {
		n = recvmsg(fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*nr = 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(fds + *nr, CMSG_DATA(cm), k * sizeof(int));
		*nr += k;
	}
	if (!n)
		ret = -EPIPE;
	else if (mh.msg_flags & MSG_CTRUNC)
		ret = -EMSGSIZE;
	else if (n != (ssize_t)len || mh.msg_flags & MSG_TRUNC)
		ret = -EBADMSG;
	else if (hdr->magic != CTL_MAGIC || hdr->kind != kind)
		ret = -EPROTO;
	else if (hdr->version != CTL_VERSION)
		ret = -EPROTONOSUPPORT;
	if (ret)
		ioregion_close_fds(fds, *nr);
	return ret;
}

static int check_unix_socket(int fd)
{
	int domain;
	socklen_t len = sizeof(domain);
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return -errno;
	return domain == AF_UNIX ? 0 : -EAFNOSUPPORT;
}

int ioregion_propose(int ctl_fd, const struct ioregion_layout *layout,
		     int kvm_fd, int *fds, int *nr_fds)
{
	struct ctl_proposal p = { .hdr = { CTL_MAGIC, CTL_VERSION, CTL_PROPOSAL } };
	struct ctl_reply r;
	int got[IOREGION_REPLY_MAX_FDS], nr, ret;

	if (!layout || !fds || !nr_fds || *nr_fds < 0)
		return -EINVAL;
	ret = check_unix_socket(kvm_fd);
	if (ret)
		return ret;
	if (layout->nr > IOREGION_LAYOUT_MAX)
		return -E2BIG;
	layout_to_wire(&p, layout);
	ret = ctl_send(ctl_fd, &p, sizeof(p), &kvm_fd, 1);
	if (ret)
		return ret;
	ret = ctl_recv(ctl_fd, &r, sizeof(r), CTL_REPLY, got, &nr);
	if (ret)
		return ret;
	if (r.status > 0 || r.nr_fds != (uint32_t)nr || (r.status && nr)) {
		ioregion_close_fds(got, nr);
		return -EBADMSG;
	}
	if (nr > *nr_fds) {
		ioregion_close_fds(got, nr);
		return -ENOBUFS;
	}
	memcpy(fds, got, nr * sizeof(int));
	*nr_fds = nr;
	return r.status;
}

int ioregion_recv_proposal(int ctl_fd, struct ioregion_layout *layout, int *kvm_fd)
{
	struct ctl_proposal p;
	int fds[IOREGION_REPLY_MAX_FDS], nr, ret;

	if (!layout || !kvm_fd)
		return -EINVAL;
	ret = ctl_recv(ctl_fd, &p, sizeof(p), CTL_PROPOSAL, fds, &nr);
	if (ret)
		return ret;
	ret = nr == 1 ? check_unix_socket(fds[0]) : -EBADMSG;
	if (!ret)
		ret = layout_from_wire(layout, &p);
	if (ret) {
		ioregion_close_fds(fds, nr);
		return ret;
	}
	*kvm_fd = fds[0];
	return 0;
}

int ioregion_reply(int ctl_fd, int status, const int *fds, int nr_fds)
{
	struct ctl_reply r = {
		.hdr = { CTL_MAGIC, CTL_VERSION, CTL_REPLY },
		.status = status, .nr_fds = nr_fds,
	};

	if (status > 0 || nr_fds < 0 || nr_fds > IOREGION_REPLY_MAX_FDS ||
	    (nr_fds && (!fds || status)))
		return -EINVAL;
	return ctl_send(ctl_fd, &r, sizeof(r), fds, nr_fds);
}
