// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfugpio: the demo guest's workload for libvfio-user's gpio-pci-idio-16
 * sample (an ACCES PCI-IDIO-16 on BAR2), bound by Linux's own
 * gpio-pci-idio-16 driver and used through the GPIO character device:
 *
 *   - finds the gpiochip of the PCI function (default 0000:00:01.0) and
 *     checks it has the card's 32 lines (0-15 outputs, 16-31 inputs),
 *   - ROUNDS times: sets the 16 outputs to a pattern (BAR writes the
 *     sample takes) and reads the 16 inputs (BAR reads; the sample answers
 *     0 for every register the driver reads),
 *   - prints "@@VFUGPIO chip=NAME lines=N rounds=N inputs=0xBITS errors=N us=N".
 *
 *   vfugpio [ROUNDS [PCI-ADDRESS]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/gpio.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

static int find_chip(const char *pci, char *name, size_t len)
{
	char dir[128];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", pci);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "gpiochip", 8)) {
			snprintf(name, len, "%s", e->d_name);
			closedir(d);
			return 0;
		}
	closedir(d);
	return -ENOENT;
}

/* 16 lines from @first, as outputs or inputs; the request's fd. */
static int request(int chip, unsigned int first, bool output)
{
	struct gpio_v2_line_request req = { .num_lines = 16 };
	unsigned int i;

	for (i = 0; i < 16; i++)
		req.offsets[i] = first + i;
	req.config.flags = output ? GPIO_V2_LINE_FLAG_OUTPUT : GPIO_V2_LINE_FLAG_INPUT;
	snprintf(req.consumer, sizeof(req.consumer), "vfugpio");
	if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req))
		return -errno;
	return req.fd;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 100, errors = 0, chip, out, in, r;
	const char *pci = argc > 2 ? argv[2] : "0000:00:01.0";
	struct gpio_v2_line_values v;
	struct gpiochip_info info;
	unsigned long long inputs = 0;
	char name[256], path[300];
	long long start;

	if (find_chip(pci, name, sizeof(name))) {
		printf("vfugpio: %s has no gpiochip: did gpio-pci-idio-16 bind it?\n", pci);
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/%s", name);
	chip = open(path, O_RDWR);
	if (chip < 0 || ioctl(chip, GPIO_GET_CHIPINFO_IOCTL, &info)) {
		printf("vfugpio: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (info.lines != 32) {
		printf("vfugpio: %s (%s) has %u lines, not the IDIO-16's 32\n", name,
		       info.label, info.lines);
		return 1;
	}
	out = request(chip, 0, true);
	in = request(chip, 16, false);
	if (out < 0 || in < 0) {
		printf("vfugpio: requesting the lines: %s\n", strerror(-(out < 0 ? out : in)));
		return 1;
	}

	start = now_us();
	for (r = 0; r < rounds; r++) {
		v.bits = (r * 0x9e37u) & 0xffff;
		v.mask = 0xffff;
		if (ioctl(out, GPIO_V2_LINE_SET_VALUES_IOCTL, &v)) {
			printf("vfugpio: setting the outputs: %s\n", strerror(errno));
			return 1;
		}
		v.bits = 0;
		v.mask = 0xffff;
		if (ioctl(in, GPIO_V2_LINE_GET_VALUES_IOCTL, &v)) {
			printf("vfugpio: reading the inputs: %s\n", strerror(errno));
			return 1;
		}
		inputs |= v.bits;
		if (v.bits)	/* the sample answers 0 to every read but BAR2's byte 0 */
			errors++;
	}
	printf("@@VFUGPIO chip=%s label=%s lines=%u rounds=%d inputs=0x%llx errors=%d us=%lld\n",
	       name, info.label, info.lines, rounds, inputs, errors, now_us() - start);
	return errors ? 1 : 0;
}
