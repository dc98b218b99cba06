// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * A 16550A UART register model; see uart16550.h.  Register and bit names
 * follow Linux's include/uapi/linux/serial_reg.h.
 */
#include "uart16550.h"

#include <string.h>

enum { RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define IER_RDI		0x01	/* received data available */
#define IER_THRI	0x02	/* THR empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */
#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO	0xc0	/* FIFOs enabled: what makes it a 16550A */
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08	/* gates the interrupt line on a PC */
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02	/* overrun: a byte found the FIFO full */
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

void uart16550_init(struct uart16550 *u, void (*tx)(void *, uint8_t),
		    void (*irq_changed)(void *, bool), void *opaque)
{
	memset(u, 0, sizeof(*u));
	u->tx = tx;
	u->irq_changed = irq_changed;
	u->opaque = opaque;
	u->dll = 12;		/* 9600 baud */
	u->lcr = 0x03;		/* 8n1 */
}

/* The highest-priority interrupt pending, as IIR's low bits. */
static uint8_t pending(const struct uart16550 *u)
{
	if ((u->ier & IER_RLSI) && u->lsr_err)
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && u->msr_delta)
		return IIR_MSI;
	return IIR_NO_INT;
}

static void update_irq(struct uart16550 *u)
{
	bool level = pending(u) != IIR_NO_INT && (u->mcr & MCR_OUT2);

	if (level != u->irq) {
		u->irq = level;
		if (u->irq_changed)
			u->irq_changed(u->opaque, level);
	}
}

static void push_rx(struct uart16550 *u, uint8_t byte)
{
	if (u->rx_count == UART_FIFO_SIZE) {
		u->lsr_err |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count++) % UART_FIFO_SIZE] = byte;
}

uint8_t uart16550_lsr(const struct uart16550 *u)
{
	return (u->rx_count ? LSR_DR : 0) | LSR_THRE | LSR_TEMT | u->lsr_err;
}

static uint8_t msr(const struct uart16550 *u)
{
	if (u->mcr & MCR_LOOP)
		return ((u->mcr & MCR_RTS) ? MSR_CTS : 0) |
		       ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
		       ((u->mcr & MCR_OUT1) ? MSR_RI : 0) |
		       ((u->mcr & MCR_OUT2) ? MSR_DCD : 0) | u->msr_delta;
	/* A terminal is always there. */
	return MSR_CTS | MSR_DSR | MSR_DCD | u->msr_delta;
}

uint8_t uart16550_read(struct uart16550 *u, unsigned int reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t val = 0;

	switch (reg) {
	case RBR_THR_DLL:
		if (dlab)
			return u->dll;
		if (u->rx_count) {
			val = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
			u->rx_count--;
		}
		break;
	case IER_DLM:
		return dlab ? u->dlm : u->ier;
	case IIR_FCR:
		val = pending(u);
		/* Reading IIR is what acknowledges a THR-empty interrupt. */
		if (val == IIR_THRI)
			u->thri_pending = false;
		val |= u->fifo_on ? IIR_FIFO : 0;
		break;
	case LCR:
		return u->lcr;
	case MCR:
		return u->mcr;
	case LSR:
		val = uart16550_lsr(u);
		u->lsr_err = 0;
		break;
	case MSR:
		val = msr(u);
		u->msr_delta = 0;
		break;
	case SCR:
		return u->scr;
	}
	update_irq(u);
	return val;
}

void uart16550_write(struct uart16550 *u, unsigned int reg, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case RBR_THR_DLL:
		if (dlab) {
			u->dll = val;
			return;
		}
		/* Sent at once: THR is empty again straight away. */
		if (u->mcr & MCR_LOOP)
			push_rx(u, val);
		else if (u->tx)
			u->tx(u->opaque, val);
		u->thri_pending = true;
		break;
	case IER_DLM:
		if (dlab) {
			u->dlm = val;
			return;
		}
		/* Enabling THRI with THR empty raises it, as on hardware. */
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thri_pending = true;
		u->ier = val & 0x0f;
		break;
	case IIR_FCR:
		u->fifo_on = val & FCR_ENABLE;
		if (val & FCR_CLEAR_RX)
			u->rx_head = u->rx_count = 0;
		break;
	case LCR:
		u->lcr = val;
		return;
	case MCR:
		u->mcr = val & 0x1f;
		break;
	case LSR:
	case MSR:
		return;		/* read-only here */
	case SCR:
		u->scr = val;
		return;
	}
	update_irq(u);
}

unsigned int uart16550_receive(struct uart16550 *u, const uint8_t *buf,
			       unsigned int len)
{
	unsigned int n = 0;

	while (n < len && u->rx_count < UART_FIFO_SIZE)
		push_rx(u, buf[n++]);
	update_irq(u);
	return n;
}

void uart16550_save(const struct uart16550 *u, struct uart16550_regs *r)
{
	*r = (struct uart16550_regs){
		.magic = UART16550_REGS_MAGIC, .ier = u->ier, .lcr = u->lcr,
		.mcr = u->mcr, .scr = u->scr, .dll = u->dll, .dlm = u->dlm,
		.fifo_on = u->fifo_on,
	};
}

void uart16550_restore(struct uart16550 *u, const struct uart16550_regs *r)
{
	u->ier = r->ier & 0x0f;
	u->lcr = r->lcr;
	u->mcr = r->mcr & 0x1f;
	u->scr = r->scr;
	u->dll = r->dll;
	u->dlm = r->dlm;
	u->fifo_on = r->fifo_on;
	u->thri_pending = u->ier & IER_THRI;
	update_irq(u);
}
