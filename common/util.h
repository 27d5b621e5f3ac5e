/* Small helpers with no hidden state: hashing, time formatting, clocks and
 * a growable string builder. */
#ifndef FNG_UTIL_H
#define FNG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The value of hex digit c, or -1. */
int util_hexval(char c);

/* SHA-256 of buf as 64 lowercase hex digits and a NUL. Returns 0, or
 * -EINVAL when out is NULL or buf is NULL with len > 0. */
int util_sha256_hex(const void *buf, size_t len, char out[65]);

/* "2026-11-22T17:37:29.123Z": UTC, milliseconds truncated (not rounded,
 * so a line never appears to come from the next millisecond). */
void util_rfc3339_ms(const struct timespec *ts, char out[32]);

int64_t util_now_ms(void);  /* CLOCK_REALTIME, ms since the epoch */
int64_t util_mono_ms(void); /* CLOCK_MONOTONIC, ms; for durations */

/* Growable string builder. Errors are sticky: after a failed append every
 * later append is a no-op and util_sb_take() returns NULL, so callers check
 * once at the end. The buffer is always NUL-terminated once allocated. */
struct util_sb {
	char *buf;
	size_t len;
	size_t cap;
	size_t max; /* 0: unlimited; else appends beyond max bytes fail */
	int err;    /* 0, -ENOMEM or -E2BIG */
};

void util_sb_init(struct util_sb *sb, size_t max);
void util_sb_put(struct util_sb *sb, const void *data, size_t n);
void util_sb_puts(struct util_sb *sb, const char *s);
void util_sb_putc(struct util_sb *sb, char c);
/* Returns the string (caller frees) or NULL after an error; resets sb. */
char *util_sb_take(struct util_sb *sb);
void util_sb_free(struct util_sb *sb); /* accepts an already-taken sb */

#endif
