// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioregion_lat: latency of ioregionfd accesses, per region, on a running
 * host.  Attaches ioregion_lat.bpf.c to the kvm_ioregion_* tracepoints and,
 * when stopped (SIGINT, SIGTERM or -d), prints for each region and
 * direction the accesses timed, posted writes, failures, and p50/p90/p99/max
 * of the time from the command being sent to the vCPU holding the response.
 *
 *   ioregion_lat [-p PID] [-d SECONDS] [-i SECONDS] [-v]
 *
 * See ioregion_lat(8).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ioregion_lat.h"
#include "ioregion_lat.skel.h"

static volatile sig_atomic_t stop;
static bool verbose;

static void on_signal(int sig)
{
	stop = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

struct row {
	struct lat_key key;
	struct lat_hist h;
};

/*
 * The midpoint of the bucket holding the @pct percentile, in us; no more
 * than the maximum seen.
 */
static double percentile(const struct lat_hist *h, double pct)
{
	__u64 want = (__u64)(h->count * pct / 100.0 + 0.999999), seen = 0;
	__u32 i;

	if (!want)
		want = 1;
	for (i = 0; i < LAT_SLOTS; i++) {
		seen += h->slots[i];
		if (seen >= want) {
			__u64 lo = lat_slot_low(i);
			__u64 hi = i + 1 < LAT_SLOTS ? lat_slot_low(i + 1) : lo;

			return (lo + hi) / 2.0 < h->max_ns ? (lo + hi) / 2.0 / 1000.0 :
							      h->max_ns / 1000.0;
		}
	}
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct lat_key *x = &((const struct row *)a)->key;
	const struct lat_key *y = &((const struct row *)b)->key;

	if (x->pio != y->pio)
		return x->pio - y->pio;
	if (x->region != y->region)
		return x->region < y->region ? -1 : 1;
	return x->is_write - y->is_write;
}

static int print_table(int fd)
{
	static struct row rows[LAT_MAX_REGIONS];
	struct lat_key key, *prev = NULL;
	int n = 0, i;

	while (n < LAT_MAX_REGIONS && !bpf_map_get_next_key(fd, prev, &key)) {
		rows[n].key = key;
		if (bpf_map_lookup_elem(fd, &key, &rows[n].h))
			return -errno;
		prev = &rows[n++].key;
	}
	qsort(rows, n, sizeof(rows[0]), cmp_row);
	printf("%-4s %-18s %-5s %10s %10s %7s %9s %9s %9s %9s\n", "", "region", "dir",
	       "count", "posted", "failed", "p50 us", "p90 us", "p99 us", "max us");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		printf("%-4s 0x%016llx %-5s %10llu %10llu %7llu", r->key.pio ? "pio" : "mmio",
		       (unsigned long long)r->key.region, r->key.is_write ? "write" : "read",
		       (unsigned long long)r->h.count, (unsigned long long)r->h.posted,
		       (unsigned long long)r->h.failed);
		if (r->h.count)
			printf(" %9.1f %9.1f %9.1f %9.1f\n", percentile(&r->h, 50),
			       percentile(&r->h, 90), percentile(&r->h, 99),
			       r->h.max_ns / 1000.0);
		else
			printf(" %9s %9s %9s %9s\n", "-", "-", "-", "-");
	}
	printf("(%d region%s; percentiles within 6.25%%: log-linear buckets)\n", n,
	       n == 1 ? "" : "s");
	fflush(stdout);
	return 0;
}

/* A decimal from 0 to INT_MAX, or -EINVAL. */
static int number(const char *arg, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *out < 0 || *out > INT_MAX)
		return -EINVAL;
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-p PID] [-d SECONDS] [-i SECONDS] [-v]\n"
		"  -p PID      only the vCPU threads of this VMM process\n"
		"  -d SECONDS  stop after SECONDS (default: at SIGINT or SIGTERM)\n"
		"  -i SECONDS  also print the table every SECONDS\n"
		"  -v          libbpf's debug output\n", prog);
}

int main(int argc, char **argv)
{
	long pid = 0, duration = 0, interval = 0, elapsed = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	struct ioregion_lat *skel;
	int c, err = 0;

	while ((c = getopt(argc, argv, "p:d:i:vh")) != -1) {
		switch (c) {
		case 'p':
			err = number(optarg, &pid);
			break;
		case 'd':
			err = number(optarg, &duration);
			break;
		case 'i':
			err = number(optarg, &interval);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
		if (err) {
			fprintf(stderr, "%s: -%c %s: not a number from 0 to %d\n",
				argv[0], c, optarg, INT_MAX);
			return 2;
		}
	}
	if (optind < argc) {
		usage(argv[0]);
		return 2;
	}
	libbpf_set_print(print_libbpf);

	skel = ioregion_lat__open();
	if (!skel) {
		fprintf(stderr, "ioregion_lat: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->target_tgid = pid;
	err = ioregion_lat__load(skel);
	if (err) {
		fprintf(stderr, "ioregion_lat: loading the BPF programs: %s%s\n", strerror(-err),
			err == -EPERM ? " (needs CAP_BPF and CAP_PERFMON)" : "");
		goto out;
	}
	err = ioregion_lat__attach(skel);
	if (err) {
		fprintf(stderr, "ioregion_lat: attaching to kvm_ioregion_*: %s%s\n",
			strerror(-err), err == -ENOENT ?
			" (this kernel has no ioregionfd tracepoints, or no CONFIG_BPF_EVENTS)" : "");
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (pid)
		printf("ioregion_lat: tracing ioregionfd accesses of process %ld; ", pid);
	else
		printf("ioregion_lat: tracing ioregionfd accesses; ");
	printf("Ctrl-C to stop\n");
	fflush(stdout);

	while (!stop && (!duration || elapsed < duration)) {
		sleep(1);	/* a signal cuts it short */
		if (stop)
			break;
		elapsed++;
		if (interval && !(elapsed % interval) && (!duration || elapsed < duration)) {
			err = print_table(bpf_map__fd(skel->maps.hists));
			if (err)
				break;
		}
	}
	err = print_table(bpf_map__fd(skel->maps.hists));
	if (err)
		fprintf(stderr, "ioregion_lat: reading the histograms: %s\n", strerror(-err));
out:
	ioregion_lat__destroy(skel);
	return err ? 1 : 0;
}
