#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "util.h"

int util_sha256_hex(const void *buf, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];

	if (!out || (!buf && len > 0))
		return -EINVAL;
	sha256_init(&ctx);
	if (len > 0)
		sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, sizeof digest, digest);
	for (size_t i = 0; i < sizeof digest; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 0xf];
	}
	out[64] = '\0';
	return 0;
}

void util_rfc3339_ms(const struct timespec *ts, char out[32])
{
	struct tm tm;
	long ms = ts->tv_nsec / 1000000;
	char date[24];

	/* A timespec from clock_gettime() is normalised; clamp anyway so a
	 * hand-made one cannot print a 4-digit millisecond field. */
	if (ms < 0 || ms > 999)
		ms = 0;
	if (!gmtime_r(&ts->tv_sec, &tm) ||
	    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, 32, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, 32, "%s.%03ldZ", date, ms);
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t util_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

void util_sb_init(struct util_sb *sb, size_t max)
{
	*sb = (struct util_sb){ .max = max };
}

static bool sb_reserve(struct util_sb *sb, size_t n)
{
	size_t need, cap;
	char *p;

	if (sb->err)
		return false;
	if (n > SIZE_MAX - sb->len - 1 || (sb->max && sb->len + n > sb->max)) {
		sb->err = -E2BIG;
		return false;
	}
	need = sb->len + n + 1;
	if (need <= sb->cap)
		return true;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(sb->buf, cap);
	if (!p) {
		sb->err = -ENOMEM;
		return false;
	}
	sb->buf = p;
	sb->cap = cap;
	p[sb->len] = '\0';
	return true;
}

void util_sb_put(struct util_sb *sb, const void *data, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	if (n > 0)
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void util_sb_puts(struct util_sb *sb, const char *s)
{
	util_sb_put(sb, s, strlen(s));
}

void util_sb_putc(struct util_sb *sb, char c)
{
	util_sb_put(sb, &c, 1);
}

char *util_sb_take(struct util_sb *sb)
{
	char *r;

	/* An empty builder still yields "", so NULL only means failure. */
	if (!sb->err && !sb->buf)
		sb_reserve(sb, 0);
	if (sb->err) {
		util_sb_free(sb);
		return NULL;
	}
	r = sb->buf;
	util_sb_init(sb, sb->max);
	return r;
}

void util_sb_free(struct util_sb *sb)
{
	free(sb->buf);
	util_sb_init(sb, sb->max);
}

int util_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
