/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * libioregion: serve KVM ioregionfd commands in a device process.
 *
 * A device process owns the other end of the sockets a VMM bound
 * with KVM_SET_IOREGION.  It creates a device with its register callbacks,
 * tells it which regions it serves (for validation) and which fds carry
 * them, then calls ioregion_serve() in its main loop.  Each call waits for
 * commands, validates them, calls the callbacks and sends the responses,
 * in as few system calls as the engine allows.
 *
 * A VMM hands a device process a grant (a window of guest MMIO or PIO
 * space); the device proposes the regions it wants inside it over a
 * control socket, the VMM validates and binds them, and replies with the
 * interrupt eventfds the device raises directly.  Once set up, the device
 * process may confine itself with ioregion_sandbox().
 *
 * Every function that can fail returns a negative errno.
 */
#ifndef LIBIOREGION_H
#define LIBIOREGION_H

#include <stdint.h>
#include <sys/types.h>
#include <libioregion/ioregion.h>	/* <linux/ioregion.h>, as shipped */

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version; the Makefile takes it from here. */
#define LIBIOREGION_MAJOR_VERSION	0
#define LIBIOREGION_MINOR_VERSION	4

struct ioregion_dev;

/*
 * The device's registers.  @size is 1, 2, 4 or 8; a doorbell write that
 * KVM took without decoding the instruction has size 0 and data 0.
 */
struct ioregion_ops {
	uint64_t (*read)(void *opaque, uint64_t user_data, uint64_t offset,
			 unsigned int size);
	void (*write)(void *opaque, uint64_t user_data, uint64_t offset,
		      unsigned int size, uint64_t data);
	/* Optional: a command that failed ioregion_check_cmd(). */
	void (*bad_cmd)(void *opaque, const struct ioregionfd_cmd *cmd, int err);
};

/* A region as the VMM granted it; commands must fall inside one. */
struct ioregion_region {
	uint64_t user_data;	/* kvm_ioregion.user_data */
	uint64_t size;		/* kvm_ioregion.memory_size, 0: doorbell */
};

enum ioregion_engine {
	IOREGION_ENGINE_RECV,	/* poll(2) + recv(2)/send(2) */
	IOREGION_ENGINE_URING,	/* io_uring: all fds, one system call a round */
};

/* ioregion_dev_create() flags */
#define IOREGION_F_BUSY_POLL	(1u << 0)	/* spin instead of sleeping */

#define IOREGION_MAX_FDS	64
#define IOREGION_MAX_REGIONS	256

/*
 * Structures that may grow: the caller sets @sz to the size it was built
 * with (the IOREGION_*_OPTS() initialisers and IOREGION_STATS() do), the
 * library uses what it knows of and rejects unknown non-zero fields.
 */
#define IOREGION_OPTS(TYPE, NAME, ...)					\
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/* ioregion_dev_create() options; NULL means all defaults. */
struct ioregion_dev_opts {
	size_t sz;			/* sizeof(struct ioregion_dev_opts) */
	enum ioregion_engine engine;	/* default IOREGION_ENGINE_RECV */
	unsigned int flags;		/* IOREGION_F_* */
};
#define IOREGION_DEV_OPTS(NAME, ...) IOREGION_OPTS(ioregion_dev_opts, NAME, __VA_ARGS__)

struct ioregion_stats {
	size_t sz;		/* sizeof(struct ioregion_stats), set by the caller */
	uint64_t commands;	/* commands received */
	uint64_t responses;	/* responses sent */
	uint64_t bad_commands;	/* commands that failed validation */
	uint64_t syscalls;	/* system calls the engine made to move them */
};
#define IOREGION_STATS(NAME) IOREGION_OPTS(ioregion_stats, NAME)

int ioregion_dev_create(struct ioregion_dev **devp,
			const struct ioregion_ops *ops, void *opaque,
			const struct ioregion_dev_opts *opts);
void ioregion_dev_destroy(struct ioregion_dev *dev);
int ioregion_dev_add_region(struct ioregion_dev *dev,
			    const struct ioregion_region *region);
int ioregion_dev_add_fds(struct ioregion_dev *dev, int read_fd, int write_fd);
int ioregion_serve(struct ioregion_dev *dev, int timeout_ms);
int ioregion_dev_get_poll_fd(struct ioregion_dev *dev);

/* Answering later: from a read or write callback, then from any thread. */
struct ioregion_deferred;
struct ioregion_deferred *ioregion_defer(struct ioregion_dev *dev);
int ioregion_complete(struct ioregion_dev *dev, struct ioregion_deferred *d,
		      uint64_t data);
int ioregion_check_cmd(const struct ioregion_dev *dev,
		       const struct ioregionfd_cmd *cmd);
int ioregion_dev_stats(const struct ioregion_dev *dev,
		       struct ioregion_stats *stats);

/* ---- Layout: what a VMM grants and what a device proposes ---- */

/* A window of guest address space the VMM lets one device have. */
struct ioregion_grant {
	uint64_t base;		/* guest physical address, or first port */
	uint64_t size;		/* bytes, or ports */
	uint32_t flags;		/* IOREGION_GRANT_* */
	uint32_t timeout_ms;	/* kvm_ioregion.timeout_ms of every region */
};

#define IOREGION_GRANT_PIO	(1u << 0)	/* port I/O, not MMIO */
#define IOREGION_GRANT_POSTED	(1u << 1)	/* posted writes and doorbells allowed */

/* One region a device asks for, relative to its grant. */
struct ioregion_layout_entry {
	uint64_t offset;	/* from ioregion_grant.base */
	uint64_t size;		/* 0: an MMIO doorbell (posted writes only) */
	uint64_t user_data;	/* echoed in every command */
	uint32_t flags;		/* IOREGION_LAYOUT_* */
	uint32_t reserved;	/* zero */
};

#define IOREGION_LAYOUT_PIO	(1u << 0)	/* must agree with the grant */
#define IOREGION_LAYOUT_POSTED	(1u << 1)	/* writes need no response */

#define IOREGION_LAYOUT_MAX	16

struct ioregion_layout {
	uint32_t nr;		/* entries used */
	uint32_t reserved;	/* zero */
	struct ioregion_layout_entry e[IOREGION_LAYOUT_MAX];
};

int ioregion_check_layout(const struct ioregion_grant *grant,
			  const struct ioregion_layout *layout);

/* ---- Control socket: the device proposes, the VMM replies ---- */

#define IOREGION_REPLY_MAX_FDS	8

int ioregion_propose(int ctl_fd, const struct ioregion_layout *layout,
		     int kvm_fd, int *fds, int *nr_fds);
int ioregion_recv_proposal(int ctl_fd, struct ioregion_layout *layout,
			   int *kvm_fd);
int ioregion_reply(int ctl_fd, int status, const int *fds, int nr_fds);

/* ---- VMM side: KVM_SET_IOREGION, irqfd and resamplefd ---- */

int ioregion_probe(int kvm_fd, uint64_t *features);
int ioregion_bind(int vm_fd, const struct ioregion_grant *grant,
		  const struct ioregion_layout *layout, int kvm_fd);
int ioregion_unbind(int vm_fd, const struct ioregion_grant *grant,
		    const struct ioregion_layout *layout);

struct ioregion_routes;

/* ioregion_routes_create() flags */
#define IOREGION_ROUTES_IRQCHIP	(1u << 0)	/* keep KVM's PIC/IOAPIC routes */

int ioregion_routes_create(struct ioregion_routes **routesp, int vm_fd,
			   unsigned int flags);
void ioregion_routes_destroy(struct ioregion_routes *routes);
int ioregion_irq_intx(int vm_fd, uint32_t gsi, int *irq_fd, int *resample_fd);
int ioregion_irq_gsi(int vm_fd, uint32_t gsi, int *irq_fd);
int ioregion_irq_msi(struct ioregion_routes *routes, uint32_t gsi,
		     uint64_t address, uint32_t data, int *irq_fd);
int ioregion_irq_release(int vm_fd, uint32_t gsi, int irq_fd, int resample_fd);

/* ---- Ordering groups and the device shadow ---- */

int ioregion_group_create(int vm_fd, uint64_t shadow_size, int *group_fd);
int ioregion_bind_group(int vm_fd, const struct ioregion_grant *grant,
			const struct ioregion_layout *layout, int kvm_fd,
			int group_fd);

struct ioregion_shadow;

int ioregion_shadow_map(int group_fd, uint64_t shadow_size,
			struct ioregion_shadow **shadow);
void ioregion_shadow_unmap(struct ioregion_shadow *shadow);
int ioregion_shadow_set(struct ioregion_shadow *shadow, uint64_t offset,
			unsigned int size, uint64_t value, unsigned int loads);

/* ---- VMM side: a vfio-user server's device, its BARs through ioregionfd ---- */

/*
 * A connection to a vfio-user server (libvfio-user's, QEMU's): region
 * accesses as VFIO_USER_REGION_READ/WRITE messages, and the region's
 * ioregionfd sub-regions bound with KVM_SET_IOREGION where the VMM maps it.
 * One thread at a time per connection.
 */
struct ioregion_vfu;

/* ioregion_vfu_connect() flags */
#define IOREGION_VFU_MESSAGES_ONLY	(1u << 0)	/* never ask for ioregionfd */

struct ioregion_vfu_region {
	size_t sz;		/* sizeof(struct ioregion_vfu_region), set by the caller */
	uint64_t size;		/* bytes; 0: the device has no such region */
	uint32_t flags;		/* VFIO_REGION_INFO_FLAG_* */
	uint32_t io_flags;	/* ioregionfd offered: IOREGION_VFU_IO_*, else 0 */
};

#define IOREGION_VFU_IO_OFFERED	(1u << 0)	/* the whole region, one sub-region */
#define IOREGION_VFU_IO_PIO	(1u << 1)	/* an I/O BAR: bind it in port space */
#define IOREGION_VFU_IO_POSTED	(1u << 2)	/* the server takes posted writes */

#define IOREGION_VFU_REGION(NAME) IOREGION_OPTS(ioregion_vfu_region, NAME)

/* ioregion_vfu_map() */
#define IOREGION_VFU_UNMAPPED	UINT64_MAX	/* addr: unbind */
#define IOREGION_VFU_MAP_PIO	(1u << 0)	/* flags: addr is a port */

struct ioregion_vfu_stats {
	size_t sz;		/* sizeof(struct ioregion_vfu_stats), set by the caller */
	uint64_t msgs;		/* messages sent to the server */
	uint64_t region_msgs;	/* of them, VFIO_USER_REGION_READ/WRITE */
	uint32_t bound;		/* regions bound with KVM_SET_IOREGION now */
	uint32_t pad;
};

#define IOREGION_VFU_STATS(NAME) IOREGION_OPTS(ioregion_vfu_stats, NAME)

int ioregion_vfu_connect(struct ioregion_vfu **vfup, const char *path,
			 unsigned int flags);
void ioregion_vfu_close(struct ioregion_vfu *vfu);
int ioregion_vfu_region(struct ioregion_vfu *vfu, uint32_t index,
			struct ioregion_vfu_region *region);
int ioregion_vfu_map(struct ioregion_vfu *vfu, int vm_fd, uint32_t index,
		     uint64_t addr, unsigned int flags);
int ioregion_vfu_access(struct ioregion_vfu *vfu, uint32_t index,
			uint64_t offset, void *buf, uint32_t count,
			int is_write);
int ioregion_vfu_set_irq(struct ioregion_vfu *vfu, uint32_t irq_index,
			 uint32_t subindex, int fd);
int ioregion_vfu_stats(const struct ioregion_vfu *vfu,
		       struct ioregion_vfu_stats *stats);

/* ---- Device side: confinement after setup ---- */

struct ioregion_sandbox {
	unsigned int flags;		/* IOREGION_SANDBOX_* */
	uid_t uid;			/* with IOREGION_SANDBOX_SETID */
	gid_t gid;
	const char *const *allow;	/* more system calls by name, NULL-ended */
};

#define IOREGION_SANDBOX_SETID	(1u << 0)	/* drop to uid/gid, no groups */

int ioregion_sandbox(const struct ioregion_sandbox *sandbox);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOREGION_H */
