// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * A vfio-user client for a VMM: the messages it needs to drive a device's
 * regions, and KVM_SET_IOREGION for the regions the server offers as
 * ioregionfd sub-regions (VFIO_USER_DEVICE_GET_REGION_IO_FDS, type 1; see
 * libvfio-user's docs/vfio-user.rst as patched in userspace/libvfio-user/).
 *
 * The server is another process and may be hostile or dead: every reply is
 * checked against what was asked before anything in it is used, a file
 * descriptor that arrives with it is either kept or closed, and an error
 * leaves the connection as it was or closed, never half-bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>
#include <linux/vfio.h>

#include "internal.h"

#define VFU_VERSION		1
#define VFU_GET_INFO		4
#define VFU_GET_REGION_INFO	5
#define VFU_GET_REGION_IO_FDS	6
#define VFU_SET_IRQS		8
#define VFU_REGION_READ		9
#define VFU_REGION_WRITE	10
#define VFU_CMD_MAX		14

#define VFU_F_TYPE_MASK		0xf
#define VFU_F_REPLY		1
#define VFU_F_ERROR		(1u << 5)

#define VFU_MAJOR		0
#define VFU_MINOR		1
#define VFU_MAX_REGIONS		16
#define VFU_MAX_FDS		IOREGION_REPLY_MAX_FDS
#define VFU_IO_FD_IOREGIONFD	1
#define VFU_IOREGIONFD_PIO	(1u << 0)
#define VFU_IOREGIONFD_POSTED	(1u << 1)
/* Replies larger than this are refused: 1 MiB of data plus a header. */
#define VFU_MAX_REPLY		((1u << 20) + 64)

struct vfu_hdr {
	uint16_t msg_id;
	uint16_t cmd;
	uint32_t msg_size;	/* header included */
	uint32_t flags;
	uint32_t error_no;
} __attribute__((packed));

struct vfu_region_access {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
} __attribute__((packed));

struct vfu_io_fds {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __attribute__((packed));

struct vfu_sub_region {
	uint64_t offset;
	uint64_t size;
	uint32_t fd_index;
	uint32_t type;
	uint32_t flags;
	uint32_t padding;
	uint64_t user_data;
} __attribute__((packed));

struct vfu_region {
	uint64_t size;
	uint32_t flags;
	uint32_t io_flags;	/* IOREGION_VFU_IO_* */
	uint64_t user_data;
	int fd;			/* the ioregionfd, or -1 */
	uint64_t addr;		/* bound there, or IOREGION_VFU_UNMAPPED */
	unsigned int map_flags;
	int vm_fd;
};

struct ioregion_vfu {
	int sock;
	uint16_t msg_id;
	unsigned int flags;
	bool server_ioregionfd;
	uint32_t nr_regions;
	uint32_t nr_irqs;
	struct vfu_region region[VFU_MAX_REGIONS];
	uint64_t msgs, region_msgs;
};

static int send_all(int sock, const struct iovec *iov, int iovcnt,
		    const int *fds, int nr_fds)
{
	size_t total = 0, sent = 0;
	ssize_t n;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	n = ioregion_sendmsg_fds(sock, iov, iovcnt, fds, nr_fds);
	if (n < 0)
		return n;
	sent = n;
	/* The rest of a short send, without the file descriptors again. */
	while (sent < total) {
		size_t skip = sent;
		int i = 0;

		while (skip >= iov[i].iov_len)
			skip -= iov[i++].iov_len;
		n = send(sock, (char *)iov[i].iov_base + skip,
			 iov[i].iov_len - skip, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		sent += n;
	}
	return 0;
}

static int recv_all(int sock, void *buf, size_t len, int *fds, int *nr_fds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VFU_MAX_FDS)];
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct cmsghdr *c;
		ssize_t n;

		if (fds) {
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
		}
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		for (c = fds ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
			int nr, *in = (int *)CMSG_DATA(c);

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			nr = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (int i = 0; i < nr; i++) {
				if (*nr_fds < VFU_MAX_FDS)
					fds[(*nr_fds)++] = in[i];
				else
					close(in[i]);
			}
		}
		if (mh.msg_flags & MSG_CTRUNC) {
			ioregion_close_fds(fds, *nr_fds);
			*nr_fds = 0;
			return -EPROTO;
		}
		got += n;
	}
	return 0;
}

/* The server asked us something (DMA): we serve no such request. */
static int refuse_request(struct ioregion_vfu *vfu, const struct vfu_hdr *h)
{
	struct vfu_hdr r = {
		.msg_id = h->msg_id, .cmd = h->cmd, .msg_size = sizeof(r),
		.flags = VFU_F_REPLY | VFU_F_ERROR, .error_no = ENOTSUP,
	};
	struct iovec iov = { &r, sizeof(r) };
	char buf[256];
	size_t left = h->msg_size - sizeof(*h);
	int ret;

	while (left) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);

		ret = recv_all(vfu->sock, buf, n, NULL, NULL);
		if (ret)
			return ret;
		left -= n;
	}
	return send_all(vfu->sock, &iov, 1, NULL, 0);
}

/*
 * One request and its reply.  @reply gets at most @reply_max bytes of
 * payload, *@reply_len says how many came; file descriptors that came with
 * the reply are in @fds (closed here on an error).  Returns 0, the
 * server's -errno, -EPROTO for a reply that is not one to this request, or
 * -ECONNRESET for a server that is gone; after these two the connection is
 * closed.
 */
static int transact(struct ioregion_vfu *vfu, uint16_t cmd,
		    const void *req, size_t req_len, const void *data,
		    size_t data_len, const int *send_fds, int nr_send_fds,
		    void *reply, size_t reply_max, size_t *reply_len,
		    int *fds, int *nr_fds)
{
	struct vfu_hdr h = {
		.msg_id = ++vfu->msg_id, .cmd = cmd,
		.msg_size = sizeof(h) + req_len + data_len,
	};
	struct iovec iov[3] = { { &h, sizeof(h) }, { (void *)req, req_len },
				{ (void *)data, data_len } };
	int dummy = 0, ret;

	if (vfu->sock < 0)
		return -ENOTCONN;
	if (!nr_fds)
		nr_fds = &dummy;
	*nr_fds = 0;
	ret = send_all(vfu->sock, iov, data_len ? 3 : 2, send_fds, nr_send_fds);
	if (ret)
		goto broken;
	vfu->msgs++;
	if (cmd == VFU_REGION_READ || cmd == VFU_REGION_WRITE)
		vfu->region_msgs++;

	for (;;) {
		struct vfu_hdr r;
		size_t len;

		ret = recv_all(vfu->sock, &r, sizeof(r), fds, nr_fds);
		if (ret)
			goto broken;
		ret = -EPROTO;
		if (r.msg_size < sizeof(r) || r.msg_size > VFU_MAX_REPLY)
			goto err;
		if ((r.flags & VFU_F_TYPE_MASK) != VFU_F_REPLY) {
			if (*nr_fds)
				goto err;	/* a request with fds: not ours */
			ret = refuse_request(vfu, &r);
			if (ret)
				goto broken;
			continue;
		}
		if (r.msg_id != h.msg_id || r.cmd != cmd)
			goto err;
		len = r.msg_size - sizeof(r);
		if (r.flags & VFU_F_ERROR) {
			ret = len ? -EPROTO :
			      r.error_no > 0 && r.error_no < 4096 ? -(int)r.error_no :
			      -EPROTO;
			goto err;
		}
		if (len > reply_max)
			goto err;
		ret = recv_all(vfu->sock, reply, len, fds, nr_fds);
		if (ret)
			goto broken;
		if (reply_len)
			*reply_len = len;
		return 0;
	}
broken:
	/* The server is gone, however the socket says it. */
	if (ret == -EPIPE || ret == -ECONNRESET || ret == -ENOTCONN)
		ret = -ECONNRESET;
err:
	if (fds)
		ioregion_close_fds(fds, *nr_fds);
	*nr_fds = 0;
	/*
	 * Anything but the server's own error reply leaves the stream out of
	 * step or dead: the connection is closed, later calls get -ENOTCONN.
	 */
	if (ret == -EPROTO || ret == -ECONNRESET || ret == -EMSGSIZE ||
	    ret == -EBADF || ret == -ENOMEM || ret == -ENOBUFS) {
		close(vfu->sock);
		vfu->sock = -1;
	}
	return ret;
}

/* The server's capabilities: {"capabilities": {"ioregionfd": true, ...}}. */
static int parse_caps(struct ioregion_vfu *vfu, const char *json, size_t len)
{
	struct json_object *top, *caps, *o;
	int ret = -EPROTO;

	if (len == 0 || json[len - 1] != '\0')
		return -EPROTO;
	top = json_tokener_parse(json);
	if (!top)
		return -EPROTO;
	if (!json_object_object_get_ex(top, "capabilities", &caps)) {
		ret = 0;
		goto out;
	}
	if (!json_object_is_type(caps, json_type_object))
		goto out;
	/* Validated, not kept: no access here moves more than 64 bytes. */
	if (json_object_object_get_ex(caps, "max_data_xfer_size", &o) &&
	    (!json_object_is_type(o, json_type_int) || json_object_get_int64(o) < 8))
		goto out;
	if (json_object_object_get_ex(caps, "ioregionfd", &o)) {
		if (!json_object_is_type(o, json_type_boolean))
			goto out;
		vfu->server_ioregionfd = json_object_get_boolean(o);
	}
	ret = 0;
out:
	json_object_put(top);
	return ret;
}

static int negotiate(struct ioregion_vfu *vfu)
{
	static const char caps[] =
		"{\"capabilities\":{\"max_msg_fds\":8,\"ioregionfd\":true}}";
	static const char caps_msgs[] =
		"{\"capabilities\":{\"max_msg_fds\":8}}";
	const char *mine = vfu->flags & IOREGION_VFU_MESSAGES_ONLY ? caps_msgs : caps;
	uint16_t ver[2] = { VFU_MAJOR, VFU_MINOR };
	char reply[4 + 4096];	/* the version, then the JSON */
	size_t len;
	int ret;

	ret = transact(vfu, VFU_VERSION, ver, sizeof(ver), mine, strlen(mine) + 1,
		       NULL, 0, reply, sizeof(reply), &len, NULL, NULL);
	if (ret)
		return ret;
	if (len < 4)
		return -EPROTO;
	memcpy(ver, reply, sizeof(ver));
	if (ver[0] != VFU_MAJOR)
		return -EPROTONOSUPPORT;
	if (len > 4) {
		ret = parse_caps(vfu, reply + 4, len - 4);
		if (ret)
			return ret;
	}
	if (vfu->flags & IOREGION_VFU_MESSAGES_ONLY)
		vfu->server_ioregionfd = false;
	return 0;
}

static int get_info(struct ioregion_vfu *vfu)
{
	struct vfio_device_info info = { .argsz = 16 };
	size_t len;
	int ret;

	ret = transact(vfu, VFU_GET_INFO, &info, 16, NULL, 0, NULL, 0,
		       &info, 16, &len, NULL, NULL);
	if (ret)
		return ret;
	if (len < 16 || !(info.flags & VFIO_DEVICE_FLAGS_PCI))
		return -EPROTO;
	vfu->nr_regions = info.num_regions < VFU_MAX_REGIONS ?
			  info.num_regions : VFU_MAX_REGIONS;
	vfu->nr_irqs = info.num_irqs;
	return 0;
}

/*
 * The region's ioregionfd sub-region, if the server offers one: it must
 * cover the whole region (what a VMM can bind at a BAR), with flags we
 * know, and come with exactly one file descriptor.  Anything else: the
 * region is served by messages, and whatever came is closed.
 */
static int get_io_fds(struct ioregion_vfu *vfu, uint32_t index)
{
	struct vfu_region *r = &vfu->region[index];
	struct vfu_io_fds req = {
		.argsz = sizeof(req) + 4 * sizeof(struct vfu_sub_region),
		.index = index,
	};
	char reply[sizeof(req) + 4 * sizeof(struct vfu_sub_region)];
	struct vfu_io_fds rep;
	struct vfu_sub_region sub;
	int fds[VFU_MAX_FDS], nr = 0, ret;
	size_t len;

	ret = transact(vfu, VFU_GET_REGION_IO_FDS, &req, sizeof(req), NULL, 0,
		       NULL, 0, reply, sizeof(reply), &len, fds, &nr);
	if (ret == -EINVAL || ret == -ENOTSUP)
		return 0;	/* no sub-regions for this region */
	if (ret)
		return ret;
	ret = -EPROTO;
	if (len < sizeof(rep))
		goto out;
	memcpy(&rep, reply, sizeof(rep));
	if (rep.index != index || rep.flags)
		goto out;
	if (rep.count == 0) {
		ret = nr ? -EPROTO : 0;
		goto out;
	}
	if (rep.count != 1 || rep.argsz != sizeof(rep) + sizeof(sub) ||
	    len != rep.argsz) {
		ret = 0;	/* ioeventfds, or more than we bind: messages */
		goto out;
	}
	memcpy(&sub, reply + sizeof(rep), sizeof(sub));
	if (sub.type != VFU_IO_FD_IOREGIONFD) {
		ret = 0;
		goto out;
	}
	if (nr != 1 || sub.fd_index != 0 || sub.offset != 0 ||
	    sub.size != r->size ||
	    (sub.flags & ~(VFU_IOREGIONFD_PIO | VFU_IOREGIONFD_POSTED)) ||
	    (sub.flags & VFU_IOREGIONFD_PIO && sub.flags & VFU_IOREGIONFD_POSTED))
		goto out;
	r->fd = fds[0];
	nr = 0;
	r->user_data = sub.user_data;
	r->io_flags = IOREGION_VFU_IO_OFFERED;
	if (sub.flags & VFU_IOREGIONFD_PIO)
		r->io_flags |= IOREGION_VFU_IO_PIO;
	if (sub.flags & VFU_IOREGIONFD_POSTED)
		r->io_flags |= IOREGION_VFU_IO_POSTED;
	ret = 0;
out:
	ioregion_close_fds(fds, nr);
	return ret;
}

static int get_regions(struct ioregion_vfu *vfu)
{
	for (uint32_t i = 0; i < vfu->nr_regions; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };
		struct vfu_region *r = &vfu->region[i];
		size_t len;
		int ret;

		ret = transact(vfu, VFU_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0,
			       NULL, 0, &ri, sizeof(ri), &len, NULL, NULL);
		if (ret == -EINVAL)
			continue;	/* the migration region of an old server */
		if (ret)
			return ret;
		if (len < sizeof(ri) || ri.index != i)
			return -EPROTO;
		r->size = ri.size;
		r->flags = ri.flags;
		if (vfu->server_ioregionfd && i <= VFIO_PCI_BAR5_REGION_INDEX &&
		    ri.size) {
			ret = get_io_fds(vfu, i);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/**
 * ioregion_vfu_connect() - connect to a vfio-user server's socket
 * Negotiates the version, reads the device's regions and takes the
 * ioregionfd sub-regions the server offers (none with
 * IOREGION_VFU_MESSAGES_ONLY).  Returns 0 or -errno: -EPROTO for a server
 * that does not follow the protocol.
 */
int ioregion_vfu_connect(struct ioregion_vfu **vfup, const char *path,
			 unsigned int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ioregion_vfu *vfu;
	int ret;

	*vfup = NULL;
	if (flags & ~IOREGION_VFU_MESSAGES_ONLY)
		return -EINVAL;
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	vfu = calloc(1, sizeof(*vfu));
	if (!vfu)
		return -ENOMEM;
	vfu->flags = flags;
	for (int i = 0; i < VFU_MAX_REGIONS; i++) {
		vfu->region[i].fd = -1;
		vfu->region[i].addr = IOREGION_VFU_UNMAPPED;
	}
	strcpy(sa.sun_path, path);
	vfu->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (vfu->sock < 0) {
		ret = -errno;
		goto err;
	}
	if (connect(vfu->sock, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		goto err;
	}
	ret = negotiate(vfu);
	if (!ret)
		ret = get_info(vfu);
	if (!ret)
		ret = get_regions(vfu);
	if (ret)
		goto err;
	*vfup = vfu;
	return 0;
err:
	ioregion_vfu_close(vfu);
	return ret;
}

static int set_ioregion(struct vfu_region *r, int vm_fd, uint64_t addr,
			unsigned int map_flags, bool assign)
{
	struct kvm_ioregion kr = {
		.guest_paddr = addr,
		.memory_size = r->size,
		.user_data = r->user_data,
		.read_fd = r->fd,
		.write_fd = r->fd,
	};

	if (map_flags & IOREGION_VFU_MAP_PIO)
		kr.flags |= KVM_IOREGION_PIO;
	else if (r->io_flags & IOREGION_VFU_IO_POSTED)
		kr.flags |= KVM_IOREGION_POSTED_WRITES;
	if (!assign)
		kr.flags |= KVM_IOREGION_DEASSIGN;
	return ioctl(vm_fd, KVM_SET_IOREGION, &kr) ? -errno : 0;
}

/**
 * ioregion_vfu_map() - the VMM placed region @index at @addr
 * Binds the region's ioregionfd sub-region there, in port space with
 * IOREGION_VFU_MAP_PIO, moving it from where it was; @addr
 * IOREGION_VFU_UNMAPPED unbinds it.  A region without one: 0, nothing to
 * do, its accesses go to ioregion_vfu_access().  On an error the binding
 * is as it was.
 */
int ioregion_vfu_map(struct ioregion_vfu *vfu, int vm_fd, uint32_t index,
		     uint64_t addr, unsigned int flags)
{
	struct vfu_region *r;
	int ret;

	if (index >= vfu->nr_regions || flags & ~IOREGION_VFU_MAP_PIO)
		return -EINVAL;
	r = &vfu->region[index];
	if (r->fd < 0)
		return 0;
	if (addr != IOREGION_VFU_UNMAPPED && addr + r->size < addr)
		return -EINVAL;
	if (addr == r->addr && flags == r->map_flags && vm_fd == r->vm_fd)
		return 0;
	/* Unbind first: a BAR may move to a range that overlaps its old one. */
	if (r->addr != IOREGION_VFU_UNMAPPED) {
		ret = set_ioregion(r, r->vm_fd, r->addr, r->map_flags, false);
		if (ret)
			return ret;
	}
	if (addr != IOREGION_VFU_UNMAPPED) {
		ret = set_ioregion(r, vm_fd, addr, flags, true);
		if (ret) {
			if (r->addr != IOREGION_VFU_UNMAPPED &&
			    set_ioregion(r, r->vm_fd, r->addr, r->map_flags, true))
				r->addr = IOREGION_VFU_UNMAPPED;
			return ret;
		}
	}
	r->addr = addr;
	r->map_flags = flags;
	r->vm_fd = vm_fd;
	return 0;
}

/**
 * ioregion_vfu_region() - what the server said of region @index
 */
int ioregion_vfu_region(struct ioregion_vfu *vfu, uint32_t index,
			struct ioregion_vfu_region *region)
{
	struct ioregion_vfu_region out = { .sz = sizeof(out) };

	if (!region || region->sz < sizeof(out))
		return -EINVAL;
	if (index >= vfu->nr_regions)
		return -ENOENT;
	out.size = vfu->region[index].size;
	out.flags = vfu->region[index].flags;
	out.io_flags = vfu->region[index].io_flags;
	memcpy(region, &out, sizeof(out));
	return 0;
}

/**
 * ioregion_vfu_access() - VFIO_USER_REGION_READ or _WRITE of @count bytes
 * The path for configuration space, for regions without ioregionfd, and
 * for a VMM that emulates the access itself.
 */
int ioregion_vfu_access(struct ioregion_vfu *vfu, uint32_t index,
			uint64_t offset, void *buf, uint32_t count, int is_write)
{
	struct vfu_region_access ra = {
		.offset = offset, .region = index, .count = count,
	};
	char reply[sizeof(ra) + 64];
	size_t len;
	int ret;

	if (index >= vfu->nr_regions || count == 0 || count > 64 ||
	    offset + count < offset || offset + count > vfu->region[index].size)
		return -EINVAL;
	if (is_write)
		return transact(vfu, VFU_REGION_WRITE, &ra, sizeof(ra), buf, count,
				NULL, 0, reply, sizeof(ra), &len, NULL, NULL);
	ret = transact(vfu, VFU_REGION_READ, &ra, sizeof(ra), NULL, 0, NULL, 0,
		       reply, sizeof(reply), &len, NULL, NULL);
	if (ret)
		return ret;
	memcpy(&ra, reply, sizeof(ra));
	if (len != sizeof(ra) + count || ra.count != count || ra.offset != offset ||
	    ra.region != index)
		return -EPROTO;
	memcpy(buf, reply + sizeof(ra), count);
	return 0;
}

/**
 * ioregion_vfu_set_irq() - the server signals interrupt @subindex of
 * VFIO interrupt type @irq_index (VFIO_PCI_INTX_IRQ_INDEX, ...) on @fd, an
 * eventfd: an irqfd from ioregion_irq_intx(), ioregion_irq_msi().  @fd -1
 * stops it.
 */
int ioregion_vfu_set_irq(struct ioregion_vfu *vfu, uint32_t irq_index,
			 uint32_t subindex, int fd)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set), .index = irq_index, .start = subindex,
		.count = 1,
		.flags = VFIO_IRQ_SET_ACTION_TRIGGER |
			 (fd >= 0 ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE),
	};

	if (irq_index >= vfu->nr_irqs)
		return -EINVAL;
	if (fd < 0)
		set.count = 0;
	return transact(vfu, VFU_SET_IRQS, &set, sizeof(set), NULL, 0,
			fd >= 0 ? &fd : NULL, fd >= 0, NULL, 0, NULL, NULL, NULL);
}

/**
 * ioregion_vfu_stats() - messages sent, bindings in place
 */
int ioregion_vfu_stats(const struct ioregion_vfu *vfu,
		       struct ioregion_vfu_stats *stats)
{
	struct ioregion_vfu_stats out = { .sz = sizeof(out) };

	if (!stats || stats->sz < sizeof(out))
		return -EINVAL;
	out.msgs = vfu->msgs;
	out.region_msgs = vfu->region_msgs;
	for (uint32_t i = 0; i < vfu->nr_regions; i++)
		out.bound += vfu->region[i].addr != IOREGION_VFU_UNMAPPED;
	memcpy(stats, &out, sizeof(out));
	return 0;
}

/**
 * ioregion_vfu_close() - unbind every region, close the connection
 */
void ioregion_vfu_close(struct ioregion_vfu *vfu)
{
	if (!vfu)
		return;
	for (int i = 0; i < VFU_MAX_REGIONS; i++) {
		struct vfu_region *r = &vfu->region[i];

		if (r->addr != IOREGION_VFU_UNMAPPED)
			set_ioregion(r, r->vm_fd, r->addr, r->map_flags, false);
		if (r->fd >= 0)
			close(r->fd);
	}
	if (vfu->sock >= 0)
		close(vfu->sock);
	free(vfu);
}
