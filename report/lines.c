#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "rep_int.h"

/* A line longer than this is not one fnguard wrote (its lines stay
 * within 64 KiB, CloudWatch's events within 256 KiB). */
#define LINE_MAX_BYTES (1u << 20)
#define READ_SIZE      (1u << 20)

struct carry {
	char *buf; /* a line split across reads */
	size_t n, cap;
	bool over; /* it outgrew LINE_MAX_BYTES: drop it to its end */
};

static int carry_add(struct carry *c, const char *p, size_t n)
{
	if (c->over)
		return 0;
	if (c->n + n > LINE_MAX_BYTES) {
		c->over = true;
		c->n = 0;
		return 0;
	}
	if (c->n + n > c->cap) {
		size_t nc = c->cap ? c->cap : 4096;
		while (nc < c->n + n)
			nc *= 2;
		char *b = realloc(c->buf, nc);
		if (!b)
			return -ENOMEM;
		c->buf = b;
		c->cap = nc;
	}
	memcpy(c->buf + c->n, p, n);
	c->n += n;
	return 0;
}

static int carry_flush(struct carry *c, int (*fn)(void *, const char *, size_t), void *arg)
{
	int rc = c->over ? fn(arg, NULL, 0) : fn(arg, c->buf ? c->buf : "", c->n);

	c->n = 0;
	c->over = false;
	return rc;
}

int rep_read_lines(int fd, int (*fn)(void *arg, const char *line, size_t len), void *arg)
{
	_cleanup_free_ char *buf = malloc(READ_SIZE);
	struct carry c = { 0 };
	bool pending = false;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (rc == 0) {
		ssize_t n = read(fd, buf, READ_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0) {
			if (pending)
				rc = carry_flush(&c, fn, arg);
			break;
		}
		const char *p = buf, *end = buf + n;
		while (p < end && rc == 0) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl) {
				rc = carry_add(&c, p, (size_t)(end - p));
				pending = true;
				break;
			}
			if (pending) {
				rc = carry_add(&c, p, (size_t)(nl - p));
				if (rc == 0)
					rc = carry_flush(&c, fn, arg);
				pending = false;
			} else if ((size_t)(nl - p) > LINE_MAX_BYTES) {
				rc = fn(arg, NULL, 0);
			} else {
				rc = fn(arg, p, (size_t)(nl - p));
			}
			p = nl + 1;
		}
	}
	free(c.buf);
	return rc;
}
