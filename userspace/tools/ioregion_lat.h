/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ioregion_lat: what its BPF program (ioregion_lat.bpf.c) and its loader
 * (ioregion_lat.c) share.  Latencies go to log-linear buckets: exact below
 * 16 ns, then 8 buckets per power of two, so a bucket's midpoint is within
 * 1/16 (6.25%) of every value in it.
 */
#ifndef IOREGION_LAT_H
#define IOREGION_LAT_H

#define LAT_LINEAR	16	/* values below this have a bucket each */
#define LAT_SUB_BITS	3	/* 8 buckets per power of two above */
#define LAT_MAX_MSB	40	/* ~18 minutes; longer goes to the last */
#define LAT_SLOTS	(LAT_LINEAR + (LAT_MAX_MSB - 3) * (1 << LAT_SUB_BITS))
#define LAT_MAX_REGIONS	1024

/* A histogram per region and direction. */
struct lat_key {
	__u64 region;		/* where the region starts */
	__u8 pio;
	__u8 is_write;
	__u8 pad[6];
};

struct lat_hist {
	__u64 count;		/* responses timed */
	__u64 posted;		/* posted writes: no response to time */
	__u64 failed;		/* KVM_EXIT_IOREGIONFD_FAILURE */
	__u64 sum_ns;
	__u64 max_ns;
	__u64 slots[LAT_SLOTS];
};

/* Most significant bit of @v (> 0), without loops, for BPF. */
static inline __u32 lat_msb(__u64 v)
{
	__u32 msb = 0;

	if (v >> 32) {
		msb += 32;
		v >>= 32;
	}
	if (v >> 16) {
		msb += 16;
		v >>= 16;
	}
	if (v >> 8) {
		msb += 8;
		v >>= 8;
	}
	if (v >> 4) {
		msb += 4;
		v >>= 4;
	}
	if (v >> 2) {
		msb += 2;
		v >>= 2;
	}
	return msb + (__u32)(v >> 1);
}

static inline __u32 lat_slot(__u64 ns)
{
	__u32 msb, slot;

	if (ns < LAT_LINEAR)
		return ns;
	msb = lat_msb(ns);
	if (msb > LAT_MAX_MSB)
		return LAT_SLOTS - 1;
	slot = LAT_LINEAR + ((msb - 4) << LAT_SUB_BITS) +
	       ((ns >> (msb - LAT_SUB_BITS)) & ((1 << LAT_SUB_BITS) - 1));
	return slot < LAT_SLOTS ? slot : LAT_SLOTS - 1;
}

/* The smallest value that goes to @slot. */
static inline __u64 lat_slot_low(__u32 slot)
{
	__u32 msb, sub;

	if (slot < LAT_LINEAR)
		return slot;
	msb = 4 + ((slot - LAT_LINEAR) >> LAT_SUB_BITS);
	sub = (slot - LAT_LINEAR) & ((1 << LAT_SUB_BITS) - 1);
	return (__u64)((1 << LAT_SUB_BITS) + sub) << (msb - LAT_SUB_BITS);
}

#endif /* IOREGION_LAT_H */
