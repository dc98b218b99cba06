/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * libioregion: serve KVM ioregionfd commands in a device process.
 *
 * A device process owns the other end of the sockets (or pipes) a VMM bound
 * with KVM_SET_IOREGION.  It creates a device with its register callbacks,
 * tells it which regions it serves (for validation) and which fds carry
 * them, then calls ioregion_serve() in its main loop.  Each call waits for
 * commands, validates them, calls the callbacks and sends the responses,
 * in as few system calls as the engine allows.
 *
 * Every function that can fail returns a negative errno.
 */
#ifndef LIBIOREGION_H
#define LIBIOREGION_H

#include <stdint.h>
#include <libioregion/ioregion.h>	/* <linux/ioregion.h>, as shipped */

#ifdef __cplusplus
extern "C" {
#endif

struct ioregion_dev;

/* The device's registers.  @size is 1, 2, 4 or 8, or 0 for a doorbell. */
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

struct ioregion_stats {
	uint64_t commands;	/* commands received */
	uint64_t responses;	/* responses sent */
	uint64_t bad_commands;	/* commands that failed validation */
	uint64_t syscalls;	/* system calls the engine made to move them */
};

int ioregion_dev_create(struct ioregion_dev **devp,
			const struct ioregion_ops *ops, void *opaque,
			enum ioregion_engine engine, unsigned int flags);
void ioregion_dev_destroy(struct ioregion_dev *dev);
int ioregion_dev_add_region(struct ioregion_dev *dev,
			    const struct ioregion_region *region);
int ioregion_dev_add_fds(struct ioregion_dev *dev, int read_fd, int write_fd);
int ioregion_serve(struct ioregion_dev *dev, int timeout_ms);
int ioregion_check_cmd(const struct ioregion_dev *dev,
		       const struct ioregionfd_cmd *cmd);
void ioregion_dev_stats(const struct ioregion_dev *dev,
			struct ioregion_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOREGION_H */
