// SPDX-License-Identifier: GPL-2.0
/*
 * proxytest: the workload of the guest that multi-process QEMU boots in
 * the test machine (userspace/qemu/qemu_proxy_test.sh).  Its disk and the
 * registers it reads sit on the lsi53c895a of the remote process.
 *
 *   proxytest disk DEV MIB [PASSES]  write MIB MiB of a pattern with O_DIRECT,
 *                                    read it back, compare checksums; PASSES
 *                                    times (0: until killed)
 *   proxytest regs N                 N write/read-back pairs on a scratch
 *                                    register, then N timed register reads
 *   proxytest iops DEV SECONDS       4 KiB reads with O_DIRECT, one at a
 *                                    time (queue depth 1), for SECONDS:
 *                                    the reads per second
 *
 * Prints one line per result; exits non-zero on any mismatch.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK		(64 << 10)
/* SCRATCHR, the last of the scratch registers: the sym53c8xx driver
 * leaves it alone (it uses SCRATCHA and SCRATCHB). */
#define LSI_SCRATCHR	0x9c

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static void fill(uint64_t *buf, uint64_t seed, uint64_t pos)
{
	uint64_t x = seed ^ (pos * 0x9e3779b97f4a7c15ULL) ^ 1;
	size_t i;

	for (i = 0; i < CHUNK / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = x;
	}
}

static int disk_pass(int fd, long mib, uint64_t seed, int pass)
{
	size_t n = (size_t)mib << 20, off;
	uint64_t wsum = 0xcbf29ce484222325ULL, rsum = wsum;
	uint64_t *w, *r;
	int bad = 0;

	if (posix_memalign((void **)&w, 4096, CHUNK) ||
	    posix_memalign((void **)&r, 4096, CHUNK))
		return -1;
	for (off = 0; off < n; off += CHUNK) {
		fill(w, seed, off);
		wsum = fnv(wsum, w, CHUNK);
		if (pwrite(fd, w, CHUNK, off) != CHUNK) {
			printf("disk: write at %zu: %s\n", off, strerror(errno));
			return -1;
		}
	}
	if (fdatasync(fd)) {
		printf("disk: fdatasync: %s\n", strerror(errno));
		return -1;
	}
	for (off = 0; off < n; off += CHUNK) {
		if (pread(fd, r, CHUNK, off) != CHUNK) {
			printf("disk: read at %zu: %s\n", off, strerror(errno));
			return -1;
		}
		rsum = fnv(rsum, r, CHUNK);
		fill(w, seed, off);
		bad += !!memcmp(w, r, CHUNK);
	}
	printf("disk: pass %d: wrote %ld MiB, read back %ld MiB (O_DIRECT), "
	       "checksum 0x%016llx vs 0x%016llx, %d bad chunks: %s\n", pass,
	       mib, mib, (unsigned long long)wsum, (unsigned long long)rsum,
	       bad, wsum == rsum && !bad ? "equal" : "DIFFERENT");
	fflush(stdout);
	free(w);
	free(r);
	return wsum == rsum && !bad ? 0 : 1;
}

static int disk(const char *dev, long mib, long passes)
{
	int fd = open(dev, O_RDWR | O_DIRECT);
	long i;

	if (fd < 0) {
		printf("disk: %s: %s\n", dev, strerror(errno));
		return 1;
	}
	for (i = 0; !passes || i < passes; i++) {
		if (disk_pass(fd, mib, 0x10e6 + i, i + 1))
			return 1;
	}
	close(fd);
	return 0;
}

/* The lsi53c895a's MMIO BAR (1), mapped through sysfs. */
static volatile uint32_t *lsi_mmio(void)
{
	char path[300], id[16];
	struct dirent *d;
	DIR *dir = opendir("/sys/bus/pci/devices");
	void *p = MAP_FAILED;
	FILE *f;
	int fd;

	while (dir && (d = readdir(dir))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(id, sizeof(id), f) && !strncmp(id, "0x0012", 6)) {
			snprintf(path, sizeof(path),
				 "/sys/bus/pci/devices/%s/resource1", d->d_name);
			fd = open(path, O_RDWR | O_SYNC);
			if (fd >= 0) {
				p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					 MAP_SHARED, fd, 0);
				close(fd);	/* the mapping stays */
			}
		}
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return p == MAP_FAILED ? NULL : p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int regs(long n)
{
	volatile uint32_t *mmio = lsi_mmio();
	volatile uint32_t *reg;
	uint64_t *t, t0;
	long i, bad = 0;

	if (!mmio || n < 1) {
		printf("regs: no lsi53c895a MMIO BAR in /sys/bus/pci\n");
		return 1;
	}
	reg = mmio + LSI_SCRATCHR / 4;
	t = calloc(n, sizeof(*t));
	/* Posted writes must be applied before the read that follows. */
	for (i = 0; i < n; i++) {
		*reg = 0x5a000000 ^ i;
		bad += *reg != (0x5a000000 ^ i);
	}
	printf("regs: %ld write/read-back pairs on SCRATCHR, %ld wrong\n", n, bad);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		(void)*reg;
		t[i] = now_ns() - t0;
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("regs: %ld reads of SCRATCHR: median %llu ns, p10 %llu ns, "
	       "p90 %llu ns\n", n, (unsigned long long)t[n / 2],
	       (unsigned long long)t[n / 10], (unsigned long long)t[n * 9 / 10]);
	printf("@@LAT %llu\n", (unsigned long long)t[n / 2]);
	free(t);
	return !!bad;
}

/* What the QEMU list asked of ioregionfd: 4 KiB reads at queue depth 1. */
static int iops(const char *dev, long secs)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	uint64_t t0, end, n = 0;
	off_t off = 0, size;
	void *buf;

	if (fd < 0 || secs < 1 || posix_memalign(&buf, 4096, 4096)) {
		printf("iops: %s: %s\n", dev, fd < 0 ? strerror(errno) : "bad arguments");
		return 1;
	}
	size = lseek(fd, 0, SEEK_END) & ~(off_t)4095;
	t0 = now_ns();
	end = t0 + secs * 1000000000ULL;
	while (now_ns() < end) {
		if (pread(fd, buf, 4096, off) != 4096) {
			printf("iops: read at %lld: %s\n", (long long)off,
			       strerror(errno));
			return 1;
		}
		n++;
		off = off + 4096 < size ? off + 4096 : 0;
	}
	t0 = now_ns() - t0;
	printf("iops: %llu reads of 4 KiB (O_DIRECT, queue depth 1) in %.1f s: "
	       "%llu IOPS\n", (unsigned long long)n, t0 / 1e9,
	       (unsigned long long)(n * 1000000000ULL / t0));
	printf("@@IOPS %llu\n", (unsigned long long)(n * 1000000000ULL / t0));
	free(buf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "disk"))
		return disk(argv[2], atol(argv[3]), argc > 4 ? atol(argv[4]) : 1);
	if (argc == 3 && !strcmp(argv[1], "regs"))
		return regs(atol(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "iops"))
		return iops(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: proxytest disk DEV MIB [PASSES] | regs N | "
		"iops DEV SECONDS\n");
	return 2;
}
