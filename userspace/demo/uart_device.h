/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The demo's UART device process: a uart16550 served over ioregionfd by
 * libioregion, its interrupt raised through an irqfd and raised again on
 * resamplefd while the line stays high (level-triggered INTx), confined
 * by ioregion_sandbox() before it serves anything.
 */
#ifndef UART_DEVICE_H
#define UART_DEVICE_H

#include "libioregion.h"
#include "uart16550.h"

struct uart_device {
	int sock;		/* device end of the socket bound to the ports */
	uint64_t user_data;	/* of that region */
	int irq_fd;		/* irqfd: written to raise the line */
	int resample_fd;	/* resamplefd: KVM lowered the line at EOI */
	int out_fd;		/* what the guest transmits goes here */
	int in_fd;		/* what it receives comes from here; -1: nothing */
	enum ioregion_engine engine;
	const struct ioregion_sandbox *sandbox;	/* NULL: not confined */
	/*
	 * The ordering group's shadow, COM1's ports at its offset 0, or NULL:
	 * LSR is published there, so that KVM answers the guest's LSR
	 * polling without a round trip while no clear-on-read bit is set.
	 */
	struct ioregion_shadow *shadow;
	/*
	 * Where the device keeps what the guest's driver programmed, up to
	 * date after every register write, or NULL.  If it holds a record
	 * when the device starts (a restarted device, handed its
	 * predecessor's), the UART starts programmed that way.
	 */
	struct uart16550_regs *regs;
};

/*
 * Serve until KVM lets go of the socket: returns 0 then, or a negative
 * errno if setting up, confining or serving failed.  Says on stderr how
 * many commands it served, and how many of them were LSR reads.
 */
int uart_device_run(const struct uart_device *cfg);

#endif /* UART_DEVICE_H */
