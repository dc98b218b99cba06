// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfuserial: the demo guest's workload for a PCI serial port that a
 * vfio-user server provides (QEMU's pci-serial, a 16550 in BAR0), driven
 * through Linux's own 8250_pci driver and tty layer:
 *
 *   - finds the tty of the PCI function given (default 0000:00:01.0),
 *   - with the UART in loopback (TIOCM_LOOP: MCR bit 4), writes ROUNDS
 *     blocks of 256 bytes and reads each back, comparing,
 *   - leaves loopback and writes a line, which goes out of the server's
 *     chardev,
 *   - prints "@@VFUSERIAL tty=NAME bytes=N errors=N us=N irqs=N" on the
 *     console (irqs: the port's interrupts meanwhile).
 *
 * ROUNDS 0: round after round, each said on the console, until one fails
 * (make check kills the server meanwhile).
 *
 *   vfuserial [ROUNDS [PCI-ADDRESS]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/serial.h>

#define BLOCK	256
#ifndef TIOCM_LOOP
#define TIOCM_LOOP	0x8000	/* asm-generic/termios.h: MCR's loopback */
#endif

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

/*
 * The tty name of the PCI function's port: the ttyS whose sysfs device
 * path goes through the function (the serial core puts port devices
 * between them).
 */
static int find_tty(const char *pci, char *name, size_t len)
{
	char path[300], real[PATH_MAX], want[64];
	struct dirent *e;
	DIR *d;

	snprintf(want, sizeof(want), "/%s/", pci);
	d = opendir("/sys/class/tty");
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "ttyS", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/class/tty/%s", e->d_name);
		if (realpath(path, real) && strstr(real, want)) {
			snprintf(name, len, "%s", e->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -ENOENT;
}

/* The interrupts the port's IRQ has had, from /proc/interrupts. */
static long long port_irqs(int fd)
{
	struct serial_struct ss;
	char line[256];
	long long n = -1;
	FILE *f;
	int irq;

	if (ioctl(fd, TIOCGSERIAL, &ss) || !ss.irq)
		return 0;
	f = fopen("/proc/interrupts", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %d: %lld", &irq, &n) == 2 && irq == ss.irq)
			break;
	fclose(f);
	return n < 0 ? 0 : n;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 16, errors = 0, loop = TIOCM_LOOP;
	const char *pci = argc > 2 ? argv[2] : "0000:00:01.0";
	static const char line[] = "vfuserial: hello from the guest, through pci-serial\r\n";
	unsigned char out[BLOCK], in[BLOCK];
	char name[256], path[300];
	struct termios t;
	long long start, irqs;
	int fd, r, i, n, got;

	if (find_tty(pci, name, sizeof(name))) {
		printf("vfuserial: %s has no tty: did 8250_pci bind it?\n", pci);
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR | O_NOCTTY);
	if (fd < 0 || tcgetattr(fd, &t)) {
		printf("vfuserial: %s: %s\n", path, strerror(errno));
		return 1;
	}
	cfmakeraw(&t);
	cfsetspeed(&t, B115200);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 20;	/* a read gives up after 2 s of silence */
	if (tcsetattr(fd, TCSANOW, &t) || ioctl(fd, TIOCMBIS, &loop)) {
		printf("vfuserial: %s: setting it up: %s\n", path, strerror(errno));
		return 1;
	}
	tcflush(fd, TCIOFLUSH);

	irqs = port_irqs(fd);
	start = now_us();
	for (r = 0; !rounds || r < rounds; r++) {
		for (i = 0; i < BLOCK; i++)
			out[i] = (unsigned char)(r * 7 + i);
		if (write(fd, out, BLOCK) != BLOCK) {
			printf("vfuserial: write: %s\n", strerror(errno));
			return 1;
		}
		for (got = 0; got < BLOCK; got += n) {
			n = read(fd, in + got, BLOCK - got);
			if (n <= 0)
				break;
		}
		if (got != BLOCK || memcmp(in, out, BLOCK)) {
			printf("vfuserial: round %d: %d of %d bytes came back%s\n", r, got,
			       BLOCK, got == BLOCK ? ", different" : "");
			errors++;
			if (!rounds)
				break;
		} else if (!rounds) {
			printf("vfuserial: round %d: %d bytes back\n", r, BLOCK);
			fflush(stdout);
		}
	}
	printf("@@VFUSERIAL tty=%s bytes=%d errors=%d us=%lld irqs=%lld\n", name,
	       r * BLOCK, errors, now_us() - start, port_irqs(fd) - irqs);

	if (errors) {
		/*
		 * A device that fails may never drain what is queued: drop it,
		 * or closing the tty waits for it (closing_wait, 30 s).
		 */
		tcflush(fd, TCIOFLUSH);
		return 1;
	}
	ioctl(fd, TIOCMBIC, &loop);
	if (write(fd, line, sizeof(line) - 1) != sizeof(line) - 1 || tcdrain(fd)) {
		printf("vfuserial: the last line: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}
