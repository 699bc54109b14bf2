/*
 * The one clock deadlines are measured on: CLOCK_MONOTONIC, which no
 * change of the wall clock moves.
 */
#ifndef POP3D_CLOCK_H
#define POP3D_CLOCK_H

/* Milliseconds since an arbitrary point; only differences mean anything. */
long long	clock_ms(void);

#endif
