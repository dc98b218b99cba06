/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM's module parameters, set around a measurement by the programs built
 * with the KVM selftest library (ioregion_bench, vfu_vm_test).
 */
#ifndef IOREGION_TEST_KVM_PARAM_H
#define IOREGION_TEST_KVM_PARAM_H

#include <stdio.h>

#include "test_util.h"

#define KVM_PARAMS	"/sys/module/kvm/parameters/"
#define POLL_PARAM	KVM_PARAMS "ioregion_poll_ns"
#define GROW_PARAM	KVM_PARAMS "ioregion_poll_ns_grow"

/* Set the parameter at @path to @val; the old value, or -1 if there is none. */
static inline long set_param(const char *path, long val)
{
	long old = -1;
	FILE *f;

	f = fopen(path, "r+");
	if (!f)
		return -1;
	TEST_ASSERT(fscanf(f, "%ld", &old) == 1, "reading %s", path);
	rewind(f);
	fprintf(f, "%ld\n", val);
	TEST_ASSERT(!fclose(f), "writing %s", path);
	return old;
}

#endif
