/*
 * A minimal TAP producer for the unit tests: "ok N - name" per check,
 * "ok N # SKIP reason" for a check that could not run, and a plan at the
 * end; tests/run.py counts the lines, skips apart from passes.
 */
#ifndef POP3D_TAP_H
#define POP3D_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do {						\
	int ok_c_ = (cond);						\
	tap_n++;							\
	printf("%sok %d - ", ok_c_ ? "" : "not ", tap_n);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!ok_c_) {							\
		tap_failed++;						\
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	}								\
} while (0)

#define skip(...) do {							\
	tap_n++;							\
	printf("ok %d # SKIP ", tap_n);					\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed != 0;
}

#endif
