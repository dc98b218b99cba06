// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * uartbench BYTES READS: the demo guest's workload.  Times, inside the
 * guest, writing BYTES of text to /dev/ttyS0 through Linux's 8250 driver
 * (interrupt-driven, until tcdrain() says all left), then READS reads of
 * COM1's line status register from userspace (ioperm(2), no driver in
 * between).  Prints a line for people and an @@UARTBENCH line for the
 * demo's table.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/io.h>

#define COM1_LSR	0x3fd

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	long bytes = argc > 1 ? atol(argv[1]) : 2048;
	long reads = argc > 2 ? atol(argv[2]) : 1000;
	static const char text[] =
		"uartbench: through the 8250 driver and COM1 to the host .......\n";
	double t0, write_us, read_us;
	long i, n;
	int fd;
	volatile unsigned char lsr = 0;

	fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY);
	if (fd < 0 || ioperm(COM1_LSR, 1, 1)) {
		perror("uartbench: /dev/ttyS0 or ioperm");
		return 1;
	}
	t0 = now_us();
	for (i = 0; i < bytes; i += n) {
		n = bytes - i < (long)sizeof(text) - 1 ? bytes - i : (long)sizeof(text) - 1;
		if (write(fd, text, n) != n) {
			perror("uartbench: write");
			return 1;
		}
	}
	tcdrain(fd);
	write_us = now_us() - t0;

	t0 = now_us();
	for (i = 0; i < reads; i++)
		lsr = inb(COM1_LSR);
	read_us = now_us() - t0;

	printf("uartbench: %ld bytes written in %.0f us (%.1f us a byte); %ld LSR reads in %.0f us (%.1f us each)\n",
	       bytes, write_us, write_us / bytes, reads, read_us, read_us / reads);
	printf("@@UARTBENCH bytes=%ld write_us=%.0f reads=%ld read_us=%.0f lsr=0x%02x\n",
	       bytes, write_us, reads, read_us, lsr);
	return 0;
}
