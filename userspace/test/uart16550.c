// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The 16550A model (userspace/demo/uart16550.c) against what Linux's 8250
 * driver does with a port: the probe (scratch, loopback and FIFO tests),
 * the THRE re-assert test at startup, transmitting, receiving into the
 * FIFO with overrun, interrupt priorities and acknowledgement, OUT2
 * gating the line, and the same registers served by libioregion over a
 * socket with THR writes posted.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libioregion.h"
#include "tap.h"
#include "uart16550.h"

enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR	IIR
#define DLL	RBR
#define DLM	IER

struct sink {
	char out[256];
	unsigned int n;
	int edges;
	bool level;
};

static void tx(void *o, uint8_t byte)
{
	struct sink *s = o;

	if (s->n < sizeof(s->out) - 1)
		s->out[s->n++] = byte;
}

static void irq(void *o, bool level)
{
	struct sink *s = o;

	s->edges++;
	s->level = level;
}

/* What 8250_port.c's autoconfig() does, in order; true if it finds a 16550A. */
static bool linux_probe(struct uart16550 *u)
{
	uint8_t s2, s3, msr;

	uart16550_write(u, IER, 0);
	s2 = uart16550_read(u, IER) & 0x0f;
	uart16550_write(u, IER, 0x0f);
	s3 = uart16550_read(u, IER) & 0x0f;
	uart16550_write(u, IER, 0);
	uart16550_write(u, MCR, 0x10 | 0x0a);	/* LOOP | RTS | OUT2 */
	msr = uart16550_read(u, MSR) & 0xf0;
	uart16550_write(u, MCR, 0);
	uart16550_write(u, LCR, 0xbf);		/* EFR access on a 16650 */
	uart16550_write(u, FCR, 0);
	uart16550_write(u, LCR, 0);
	uart16550_write(u, FCR, 0x01);		/* enable FIFOs */
	return s2 == 0 && s3 == 0x0f && msr == 0x90 &&
	       (uart16550_read(u, IIR) >> 6) == 3;
}

static void test_model(void)
{
	struct sink s = { 0 };
	struct uart16550 u;
	uint8_t in[20], iir1, iir2;
	unsigned int i;
	bool level;

	uart16550_init(&u, tx, irq, &s);
	tap_ok(linux_probe(&u), "Linux's autoconfig finds a 16550A");

	/* serial8250_do_startup(): THRE must come back when THRI is re-enabled. */
	uart16550_write(&u, IER, 0x02);
	iir1 = uart16550_read(&u, IIR);
	uart16550_write(&u, IER, 0);
	uart16550_write(&u, IER, 0x02);
	iir2 = uart16550_read(&u, IIR);
	uart16550_write(&u, IER, 0);
	tap_ok((iir1 & 0x0f) == 0x02 && (iir2 & 0x0f) == 0x02,
	       "THRE re-asserted when THRI is enabled again (iir 0x%x 0x%x)", iir1, iir2);
	tap_ok((uart16550_read(&u, IIR) & 0x0f) == 0x01, "no interrupt with IER 0");

	/* Divisor latch. */
	uart16550_write(&u, LCR, 0x83);
	uart16550_write(&u, DLL, 1);
	uart16550_write(&u, DLM, 0);
	tap_ok(uart16550_read(&u, DLL) == 1 && uart16550_read(&u, DLM) == 0,
	       "DLAB: divisor latch written and read back");
	uart16550_write(&u, LCR, 0x03);
	tap_ok(uart16550_read(&u, IER) == 0 && s.n == 0,
	       "DLAB off: IER as it was, nothing transmitted");

	/* Transmit. */
	for (i = 0; i < 5; i++)
		uart16550_write(&u, RBR, "hello"[i]);
	tap_ok(s.n == 5 && !memcmp(s.out, "hello", 5), "THR writes transmitted in order");
	tap_ok((uart16550_lsr(&u) & 0x60) == 0x60, "THRE and TEMT always set");

	/* Interrupts: OUT2 gates the line; RDI over THRI; IIR read acks THRI. */
	uart16550_write(&u, IER, 0x03);
	tap_ok(!s.level && s.edges == 0, "THRI pending but OUT2 off: line low");
	uart16550_write(&u, MCR, 0x0b);		/* DTR | RTS | OUT2 */
	tap_ok(s.level && s.edges == 1, "OUT2 on: line high");
	tap_ok(uart16550_receive(&u, (const uint8_t *)"ab", 2) == 2, "2 bytes received");
	tap_ok(uart16550_lsr(&u) & 0x01, "LSR.DR set");
	tap_ok((uart16550_read(&u, IIR) & 0x0f) == 0x04, "IIR: received data outranks THRE");
	tap_ok(uart16550_read(&u, RBR) == 'a' && uart16550_read(&u, RBR) == 'b',
	       "RBR returns the bytes in order");
	tap_ok(!(uart16550_lsr(&u) & 0x01), "LSR.DR clear once the FIFO is empty");
	level = s.level;
	tap_ok((uart16550_read(&u, IIR) & 0x0f) == 0x02 && level,
	       "then THRE, with the line still high");
	tap_ok((uart16550_read(&u, IIR) & 0x0f) == 0x01 && !s.level,
	       "reading IIR acknowledged it: line low");

	/* FIFO full: overrun, reported as a line status interrupt. */
	memset(in, 'x', sizeof(in));
	uart16550_write(&u, IER, 0x05);
	tap_ok(uart16550_receive(&u, in, sizeof(in)) == UART_FIFO_SIZE,
	       "the FIFO takes 16 bytes");
	uart16550_write(&u, MCR, 0x1b);		/* loopback: one more byte */
	uart16550_write(&u, RBR, 'y');
	uart16550_write(&u, MCR, 0x0b);
	tap_ok((uart16550_lsr(&u) & 0x02) && s.n == 5,
	       "a looped-back byte into a full FIFO is an overrun, not transmitted");
	tap_ok((uart16550_read(&u, IIR) & 0x0f) == 0x06, "IIR: line status first");
	tap_ok((uart16550_read(&u, LSR) & 0x02) && !(uart16550_lsr(&u) & 0x02),
	       "reading LSR clears the overrun; uart16550_lsr() did not");
	uart16550_write(&u, FCR, 0x03);
	tap_ok(!(uart16550_lsr(&u) & 0x01) && !s.level, "FCR clears the receive FIFO");
}

/* ---- the same UART behind libioregion, as the demo's device process ---- */

static uint64_t dev_read(void *o, uint64_t ud, uint64_t off, unsigned int size)
{
	return uart16550_read(o, off);
}

static void dev_write(void *o, uint64_t ud, uint64_t off, unsigned int size,
		      uint64_t data)
{
	uart16550_write(o, off, data);
}

static const struct ioregion_ops uart_ops = { .read = dev_read, .write = dev_write };

static void test_served(void)
{
	struct ioregion_region com1 = { .user_data = 0x3f8, .size = 8 };
	struct ioregionfd_resp resp[2];
	struct ioregionfd_cmd cmds[4];
	struct ioregion_dev *dev;
	struct sink s = { 0 };
	struct uart16550 u;
	int sv[2], i;

	uart16550_init(&u, tx, irq, &s);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
	    ioregion_dev_create(&dev, &uart_ops, &u, NULL) ||
	    ioregion_dev_add_region(dev, &com1) || ioregion_dev_add_fds(dev, sv[1], sv[1])) {
		tap_ok(0, "device set up");
		return;
	}
	/* "ok" as posted THR writes, then LSR and SCR synchronously. */
	for (i = 0; i < 2; i++)
		cmds[i] = (struct ioregionfd_cmd){ .op = IOREGIONFD_CMD_WRITE, .size = 1,
			.tag = i, .user_data = 0x3f8, .offset = RBR, .data = "ok"[i] };
	cmds[2] = (struct ioregionfd_cmd){ .op = IOREGIONFD_CMD_READ, .size = 1, .tag = 2,
		.flags = IOREGIONFD_CMD_RESPONSE, .user_data = 0x3f8, .offset = LSR };
	cmds[3] = cmds[2];
	cmds[3].tag = 3;
	cmds[3].offset = IIR;
	tap_ok(write(sv[0], cmds, sizeof(cmds)) == sizeof(cmds), "4 commands sent");
	tap_ok(ioregion_serve(dev, 1000) >= 0, "served");
	tap_ok(read(sv[0], resp, sizeof(resp)) == sizeof(resp), "2 responses, none for posted writes");
	tap_ok(s.n == 2 && !memcmp(s.out, "ok", 2), "posted THR writes transmitted");
	tap_ok(resp[0].tag == 2 && resp[0].data == 0x60 && resp[1].tag == 3 &&
	       resp[1].data == 0x01, "LSR 0x%llx, IIR 0x%llx", (unsigned long long)resp[0].data,
	       (unsigned long long)resp[1].data);
	ioregion_dev_destroy(dev);
	close(sv[0]);
	close(sv[1]);
}

/* A restarted device takes over what the driver programmed. */
static void test_restart(void)
{
	struct sink s = { 0 }, s2 = { 0 };
	struct uart16550 u, u2;
	struct uart16550_regs r;

	uart16550_init(&u, tx, irq, &s);
	uart16550_write(&u, LCR, 0x83);		/* DLAB: 115200 baud */
	uart16550_write(&u, DLL, 1);
	uart16550_write(&u, DLM, 0);
	uart16550_write(&u, LCR, 0x03);
	uart16550_write(&u, FCR, 0x01);
	uart16550_write(&u, MCR, 0x0b);		/* DTR, RTS, OUT2 */
	uart16550_write(&u, SCR, 0x5a);
	uart16550_write(&u, IER, 0x03);		/* RDI, THRI */
	uart16550_read(&u, IIR);		/* THRI taken... */
	uart16550_write(&u, RBR, 'x');		/* ...and due again: the driver waits */
	uart16550_save(&u, &r);

	uart16550_init(&u2, tx, irq, &s2);
	uart16550_restore(&u2, &r);
	tap_ok(r.magic == UART16550_REGS_MAGIC && uart16550_read(&u2, IER) == 0x03 &&
	       uart16550_read(&u2, LCR) == 0x03 && uart16550_read(&u2, MCR) == 0x0b &&
	       uart16550_read(&u2, SCR) == 0x5a,
	       "restored: IER, LCR, MCR and SCR as the driver left them");
	uart16550_write(&u2, LCR, 0x83);
	tap_ok(uart16550_read(&u2, DLL) == 1 && uart16550_read(&u2, DLM) == 0,
	       "restored: the divisor (115200 baud)");
	uart16550_write(&u2, LCR, 0x03);
	tap_ok(s2.level && (uart16550_read(&u2, IIR) & 0x0f) == 0x02,
	       "a THR-empty interrupt the driver was waiting for is raised again");
}

int main(void)
{
	test_model();
	test_served();
	test_restart();
	return tap_done();
}
