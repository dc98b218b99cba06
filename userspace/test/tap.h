/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/* Minimal TAP for the library's host tests: every failure names the call. */
#ifndef LIBIOREGION_TEST_TAP_H
#define LIBIOREGION_TEST_TAP_H

#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

#define tap_ok(cond, ...) do {						\
	int _ok = !!(cond);	/* evaluated once */			\
	tap_n++;							\
	if (!_ok)							\
		tap_failed++;						\
	printf("%sok %d ", _ok ? "" : "not ", tap_n);			\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

#define tap_expect(call, want, what) do {				\
	long _got = (call);						\
	tap_ok(_got == (want), "%s: %s = %ld, want %ld", what, #call,	\
	       _got, (long)(want));					\
} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
