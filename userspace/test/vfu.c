// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The vfio-user client (src/vfu.c) on the host, no KVM: against
 * libvfio-user's own gpio-pci-idio-16 sample (argv[1], built with the
 * patched library by mk/libvfio-user.sh), then against a scripted server
 * in this process that answers one message wrongly per case: each must
 * give a clear error and leave no file descriptor behind.
 *
 *   vfu GPIO_SAMPLE
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "libioregion.h"
#include "tap.h"
#include "vfu_server.h"

static char dir[] = "/tmp/vfu-test-XXXXXX";
static char path[128];

static int nr_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_gpio(const char *gpio)
{
	IOREGION_VFU_REGION(bar2);
	IOREGION_VFU_REGION(bar0);
	IOREGION_VFU_STATS(st);
	struct ioregion_vfu *vfu;
	uint8_t v, want[12];
	bool values_ok = true;
	int efd, status;
	pid_t pid;

	pid = vfu_server_start(gpio, NULL, path);
	tap_expect(vfu_server_connect(&vfu, path, 0, pid), 0, "connect to gpio-pci-idio-16");
	if (!vfu) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return;
	}
	tap_expect(ioregion_vfu_region(vfu, VFIO_PCI_BAR2_REGION_INDEX, &bar2), 0,
		   "BAR2 info");
	tap_ok(bar2.size == 0x100 && bar2.io_flags ==
	       (IOREGION_VFU_IO_OFFERED | IOREGION_VFU_IO_PIO),
	       "BAR2: 256 bytes, I/O, offered as ioregionfd (size %#llx io_flags %#x)",
	       (unsigned long long)bar2.size, bar2.io_flags);
	tap_expect(ioregion_vfu_region(vfu, VFIO_PCI_BAR0_REGION_INDEX, &bar0), 0,
		   "BAR0 info");
	tap_ok(bar0.size == 0 && bar0.io_flags == 0, "BAR0: none, nothing offered");

	/* The sample's documented register: offset 0 reads pin++ / 3. */
	for (int i = 0; i < 12; i++) {
		want[i] = i / 3;
		if (ioregion_vfu_access(vfu, VFIO_PCI_BAR2_REGION_INDEX, 0, &v, 1,
					false) || v != want[i])
			values_ok = false;
	}
	tap_ok(values_ok, "12 REGION_READs of BAR2 offset 0 read 0,0,0,1,1,1,...");
	v = 0xa5;
	tap_expect(ioregion_vfu_access(vfu, VFIO_PCI_BAR2_REGION_INDEX, 1, &v, 1,
				       true), 0, "REGION_WRITE to BAR2");
	tap_expect(ioregion_vfu_access(vfu, VFIO_PCI_BAR2_REGION_INDEX, 0xff, &v, 2,
				       false), -EINVAL, "an access past BAR2's end");
	efd = eventfd(0, EFD_CLOEXEC);
	tap_expect(ioregion_vfu_set_irq(vfu, VFIO_PCI_INTX_IRQ_INDEX, 0, efd), 0,
		   "INTx to an eventfd (SET_IRQS with the fd)");
	close(efd);
	tap_expect(ioregion_vfu_stats(vfu, &st), 0, "stats");
	tap_ok(st.region_msgs == 13 && st.bound == 0,
	       "13 region messages counted, nothing bound (%llu, %u)",
	       (unsigned long long)st.region_msgs, st.bound);

	/* The server dies: the next access says so. */
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	tap_expect(ioregion_vfu_access(vfu, VFIO_PCI_BAR2_REGION_INDEX, 0, &v, 1,
				       false), -ECONNRESET, "an access after the server died");
	tap_expect(ioregion_vfu_access(vfu, VFIO_PCI_BAR2_REGION_INDEX, 0, &v, 1,
				       false), -ENOTCONN, "and the next one: not connected");
	ioregion_vfu_close(vfu);

	pid = vfu_server_start(gpio, NULL, path);
	tap_expect(vfu_server_connect(&vfu, path, IOREGION_VFU_MESSAGES_ONLY, pid), 0,
		   "connect, messages only");
	if (vfu) {
		ioregion_vfu_region(vfu, VFIO_PCI_BAR2_REGION_INDEX, &bar2);
		tap_ok(bar2.size == 0x100 && bar2.io_flags == 0,
		       "messages only: BAR2 not offered");
		ioregion_vfu_close(vfu);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- A scripted server: right answers but for one fault ---- */

enum fault {
	F_NONE, F_MSG_ID, F_NOT_REPLY, F_ERRNO, F_SHORT_SIZE, F_HUGE_SIZE,
	F_BAD_JSON, F_NO_NUL, F_CAPS_NOT_OBJECT, F_IOREGIONFD_NOT_BOOL,
	F_MAJOR, F_INFO_SHORT, F_INFO_NOT_PCI, F_RINFO_INDEX, F_FDS_NONE,
	F_FDS_TWO, F_FDS_SIZE, F_FDS_FLAGS, F_FDS_PIO_POSTED, F_FDS_COUNT0_FD,
	F_FDS_INDEX, F_READ_COUNT, F_HANGUP,
};

struct hdr {
	uint16_t msg_id, cmd;
	uint32_t msg_size, flags, error_no;
} __attribute__((packed));

struct script {
	int listen_fd;
	enum fault fault;
	bool refused;	/* F_NOT_REPLY: our request got ENOTSUP */
};

static void reply(int s, const struct hdr *req, const void *p, size_t len,
		  const int *fds, int nr_fds, enum fault f, bool faulty)
{
	struct hdr h = { req->msg_id, req->cmd, sizeof(h) + len, 1, 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, len } };
	char cbuf[CMSG_SPACE(sizeof(int) * 4)] = { 0 };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (faulty) {
		switch (f) {
		case F_MSG_ID: h.msg_id++; break;
		case F_ERRNO: h.flags |= 1 << 5; h.error_no = EACCES;
			h.msg_size = sizeof(h); iov[1].iov_len = 0; break;
		case F_SHORT_SIZE: h.msg_size = 8; break;
		case F_HUGE_SIZE: h.msg_size = 1u << 30; break;
		default: break;
		}
	}
	if (nr_fds) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nr_fds);
	}
	sendmsg(s, &mh, MSG_NOSIGNAL);
}

static void *scripted_server(void *arg)
{
	struct script *sc = arg;
	int s = accept(sc->listen_fd, NULL, NULL);
	enum fault f = sc->fault;
	char buf[4096];

	for (;;) {
		struct hdr h;
		size_t len;

		if (recv(s, &h, sizeof(h), MSG_WAITALL) != sizeof(h))
			break;
		len = h.msg_size - sizeof(h);
		if (len > sizeof(buf) || (len && recv(s, buf, len, MSG_WAITALL) != (ssize_t)len))
			break;
		switch (h.cmd) {
		case 1: { /* VERSION */
			const char *j = f == F_BAD_JSON ? "{\"capabilities\":" :
				f == F_CAPS_NOT_OBJECT ? "{\"capabilities\":3}" :
				f == F_IOREGIONFD_NOT_BOOL ?
					"{\"capabilities\":{\"ioregionfd\":1}}" :
				"{\"capabilities\":{\"max_msg_fds\":8,\"ioregionfd\":true}}";
			char v[128];
			size_t n = strlen(j) + (f == F_NO_NUL ? 0 : 1);

			if (f == F_NOT_REPLY) {
				/* A DMA_READ of our own first, as a server may. */
				struct hdr q = { 0x77, 11, 32, 0, 0 }, a;
				char body[16] = { 0 };
				struct iovec qv[2] = { { &q, 16 }, { body, 16 } };
				struct msghdr qm = { .msg_iov = qv, .msg_iovlen = 2 };

				sendmsg(s, &qm, MSG_NOSIGNAL);
				sc->refused = recv(s, &a, 16, MSG_WAITALL) == 16 &&
					      a.msg_id == 0x77 && a.cmd == 11 &&
					      (a.flags & 0x2f) == 0x21 &&
					      a.error_no == ENOTSUP;
			}
			v[0] = f == F_MAJOR; v[1] = 0; v[2] = 1; v[3] = 0;
			memcpy(v + 4, j, n);
			reply(s, &h, v, 4 + n, NULL, 0, f,
			      f >= F_MSG_ID && f <= F_HUGE_SIZE && f != F_NOT_REPLY);
			break;
		}
		case 4: { /* DEVICE_GET_INFO */
			uint32_t info[4] = { 16, f == F_INFO_NOT_PCI ? 0 : VFIO_DEVICE_FLAGS_PCI,
					     9, 5 };

			reply(s, &h, info, f == F_INFO_SHORT ? 12 : 16, NULL, 0, f, false);
			break;
		}
		case 5: { /* DEVICE_GET_REGION_INFO */
			struct vfio_region_info ri;

			memcpy(&ri, buf, sizeof(ri));
			ri.size = ri.index == 2 ? 0x100 : 0;
			ri.flags = ri.size ? 3 : 0;
			if (f == F_RINFO_INDEX)
				ri.index++;
			reply(s, &h, &ri, sizeof(ri), NULL, 0, f, false);
			break;
		}
		case 6: { /* DEVICE_GET_REGION_IO_FDS */
			struct {
				uint32_t argsz, flags, index, count;
				uint64_t offset, size;
				uint32_t fd_index, type, flags2, pad;
				uint64_t user_data;
			} __attribute__((packed)) r = {
				56, 0, 2, 1, 0, 0x100, 0, 1, 1, 0, 2,
			};
			int sv[2], fds[2];
			int nr = 1;

			socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
			fds[0] = fds[1] = sv[1];
			if (f == F_FDS_NONE) nr = 0;
			if (f == F_FDS_TWO) nr = 2;
			if (f == F_FDS_SIZE) r.size = 0x80;
			if (f == F_FDS_FLAGS) r.flags2 = 0x10;
			if (f == F_FDS_PIO_POSTED) r.flags2 = 3;
			if (f == F_FDS_INDEX) r.index = 3;
			if (f == F_FDS_COUNT0_FD) {
				r.count = 0;
				r.argsz = 16;
			}
			reply(s, &h, &r, r.argsz, fds, nr, f, false);
			close(sv[0]);
			close(sv[1]);
			break;
		}
		case 9: { /* REGION_READ */
			char r[16 + 8];

			memcpy(r, buf, 16);
			memset(r + 16, 0x5a, 8);
			if (f == F_READ_COUNT)
				r[12]++;
			reply(s, &h, r, 16 + buf[12], NULL, 0, f, false);
			break;
		}
		default:
			goto out;
		}
		if (f == F_HANGUP && h.cmd == 5)
			goto out;
	}
out:
	close(s);
	return NULL;
}

static void test_scripted(void)
{
	static const struct {
		enum fault f;
		int err;
		const char *what;
	} cases[] = {
		{ F_NONE, 0, "a server that follows the protocol" },
		{ F_MSG_ID, -EPROTO, "a reply with another msg_id" },
		{ F_NOT_REPLY, 0, "a server request (DMA_READ) before the reply" },
		{ F_ERRNO, -EACCES, "an error reply: its errno" },
		{ F_SHORT_SIZE, -EPROTO, "msg_size smaller than the header" },
		{ F_HUGE_SIZE, -EPROTO, "msg_size of 1 GiB" },
		{ F_BAD_JSON, -EPROTO, "capabilities that are not JSON" },
		{ F_NO_NUL, -EPROTO, "JSON without its NUL" },
		{ F_CAPS_NOT_OBJECT, -EPROTO, "\"capabilities\" not an object" },
		{ F_IOREGIONFD_NOT_BOOL, -EPROTO, "\"ioregionfd\" not a boolean" },
		{ F_MAJOR, -EPROTONOSUPPORT, "another major version" },
		{ F_INFO_SHORT, -EPROTO, "a short DEVICE_GET_INFO reply" },
		{ F_INFO_NOT_PCI, -EPROTO, "a device that is not PCI" },
		{ F_RINFO_INDEX, -EPROTO, "region info for another region" },
		{ F_FDS_NONE, -EPROTO, "an ioregionfd entry without its fd" },
		{ F_FDS_TWO, -EPROTO, "one entry, two fds" },
		{ F_FDS_SIZE, -EPROTO, "a sub-region smaller than the region" },
		{ F_FDS_FLAGS, -EPROTO, "unknown sub-region flags" },
		{ F_FDS_PIO_POSTED, -EPROTO, "PIO with posted writes" },
		{ F_FDS_COUNT0_FD, -EPROTO, "no entries, but an fd" },
		{ F_FDS_INDEX, -EPROTO, "io fds of another region" },
		{ F_HANGUP, -ECONNRESET, "the server hangs up mid-setup" },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(sa.sun_path, path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script sc = { .fault = cases[i].f };
		struct ioregion_vfu *vfu = NULL;
		int before, ret;
		pthread_t t;

		unlink(path);
		sc.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
		bind(sc.listen_fd, (struct sockaddr *)&sa, sizeof(sa));
		listen(sc.listen_fd, 1);
		before = nr_open_fds();
		pthread_create(&t, NULL, scripted_server, &sc);
		ret = ioregion_vfu_connect(&vfu, path, 0);
		if (!ret) {
			IOREGION_VFU_REGION(r);

			ioregion_vfu_region(vfu, 2, &r);
			ret = r.io_flags == (IOREGION_VFU_IO_OFFERED | IOREGION_VFU_IO_PIO) ?
			      0 : -EBADE;
			ioregion_vfu_close(vfu);
			vfu = NULL;
		}
		shutdown(sc.listen_fd, SHUT_RDWR);
		pthread_join(t, NULL);
		if (cases[i].f == F_NOT_REPLY && !sc.refused)
			ret = -EBADE;
		tap_ok(ret == cases[i].err && !vfu && nr_open_fds() == before,
		       "%s: %d (want %d), %d fds left", cases[i].what, ret,
		       cases[i].err, nr_open_fds() - before);
		close(sc.listen_fd);
	}

	/* A REGION_READ reply for another count: refused, connection closed. */
	{
		struct script sc = { .fault = F_READ_COUNT };
		struct ioregion_vfu *vfu = NULL;
		pthread_t t;
		uint32_t v;

		unlink(path);
		sc.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
		bind(sc.listen_fd, (struct sockaddr *)&sa, sizeof(sa));
		listen(sc.listen_fd, 1);
		pthread_create(&t, NULL, scripted_server, &sc);
		tap_expect(ioregion_vfu_connect(&vfu, path, 0), 0, "connect");
		tap_expect(ioregion_vfu_access(vfu, 2, 0, &v, 4, false), -EPROTO,
			   "a REGION_READ reply with another count");
		ioregion_vfu_close(vfu);
		pthread_join(t, NULL);
		close(sc.listen_fd);
	}
	tap_expect(ioregion_vfu_connect(&(struct ioregion_vfu *){ NULL }, path, 1u << 7),
		   -EINVAL, "unknown connect flags");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s GPIO_SAMPLE\n", argv[0]);
		return 2;
	}
	if (!mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/sock", dir);
	test_gpio(argv[1]);
	test_scripted();
	unlink(path);
	rmdir(dir);
	return tap_done();
}
