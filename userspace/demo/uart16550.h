/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * A 16550A UART register model, enough for Linux's 8250 driver to probe it
 * as a 16550A and use it as a console: no I/O of its own.  Transmitted
 * bytes go to a callback and leave at once (THR and the transmitter are
 * always empty); received bytes wait in the 16-byte FIFO; the interrupt
 * line's level is reported to a callback whenever it changes.
 *
 * Registers are offsets 0-7 from the base port, one byte each.  Reads of
 * RBR (offset 0), IIR (2), LSR (5) and MSR (6) have side effects;
 * uart16550_lsr() gives LSR without them, for a device shadow.
 */
#ifndef UART16550_H
#define UART16550_H

#include <stdbool.h>
#include <stdint.h>

#define UART_FIFO_SIZE	16

struct uart16550 {
	uint8_t ier, lcr, mcr, lsr_err, msr_delta, scr, dll, dlm;
	bool fifo_on;			/* FCR bit 0 */
	bool thri_pending;		/* THR empty, not yet seen in IIR */
	bool irq;			/* the line's level as last reported */
	uint8_t rx[UART_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	void (*tx)(void *opaque, uint8_t byte);
	void (*irq_changed)(void *opaque, bool level);
	void *opaque;
};

void uart16550_init(struct uart16550 *u, void (*tx)(void *, uint8_t),
		    void (*irq_changed)(void *, bool), void *opaque);
uint8_t uart16550_read(struct uart16550 *u, unsigned int reg);
void uart16550_write(struct uart16550 *u, unsigned int reg, uint8_t val);
/* Queue received bytes; returns how many fitted in the FIFO. */
unsigned int uart16550_receive(struct uart16550 *u, const uint8_t *buf,
			       unsigned int len);
/* LSR as a read would return it, without clearing anything. */
uint8_t uart16550_lsr(const struct uart16550 *u);

/*
 * What the driver programmed, to carry across a device restart: the
 * FIFO's contents and pending errors are not kept (they die with the
 * process, as on a UART that is reset and reprogrammed).
 */
struct uart16550_regs {
	uint32_t magic;			/* UART16550_REGS_MAGIC once written */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fifo_on, pad;
};

#define UART16550_REGS_MAGIC	0x31353530	/* "0551" */

void uart16550_save(const struct uart16550 *u, struct uart16550_regs *r);
/*
 * Reprogram @u as @r says.  A THR-empty interrupt that was enabled is
 * raised again: the transmitter is empty, and a driver that was waiting
 * for that interrupt when the old device died goes on.
 */
void uart16550_restore(struct uart16550 *u, const struct uart16550_regs *r);

#endif /* UART16550_H */
