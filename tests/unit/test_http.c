/* HTTP messages over llhttp: framing (length, chunked, pipelined, byte by
 * byte), limits and errors, and serialisation round trips. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "unit.h"

/* Feeds s in pieces of `step` bytes; returns the messages parsed. */
static size_t parse_all(bool request, const char *s, size_t step, struct http_msg *out, size_t max,
			int *err)
{
	struct http_in *in = http_in_new(request, 1 << 20);
	size_t len = strlen(s), off = 0, n = 0;

	*err = 0;
	while (off < len && n < max) {
		size_t chunk = len - off < step ? len - off : step, used;
		int rc = http_in_feed(in, s + off, chunk, &used);
		off += used;
		if (rc < 0) {
			*err = rc;
			break;
		}
		if (rc == 1)
			http_in_take(in, &out[n++]);
	}
	if (!*err && n < max && http_in_eof(in) == 1)
		http_in_take(in, &out[n++]);
	http_in_free(in);
	return n;
}

static const char PIPELINED[] =
	"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
	"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: x\r\n"
	"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
	"POST /e HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";

UNIT_SUITE(http_requests)
{
	const size_t steps[] = { 1, 2, 7, 64, 4096 };

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct http_msg m[4] = { 0 };
		int err;
		size_t n = parse_all(true, PIPELINED, steps[i], m, 4, &err);
		CHECK(err == 0 && n == 3);
		CHECK_STR(m[0].method, "GET");
		CHECK_STR(m[0].target, "/2018-06-01/runtime/invocation/next");
		CHECK(m[0].body_len == 0 && m[0].keep_alive);
		CHECK_STR(m[1].method, "POST");
		CHECK(m[1].body_len == 11 && memcmp(m[1].body, "hello world", 11) == 0);
		CHECK_STR(http_get(&m[1], "host"), "x");
		CHECK(m[2].body_len == 3 && !m[2].keep_alive);
		for (size_t k = 0; k < n; k++)
			http_msg_free(&m[k]);
	}
}

UNIT_SUITE(http_responses_and_limits)
{
	struct http_msg m[2] = { 0 };
	int err;
	size_t n = parse_all(false,
			     "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\n"
			     "Content-Length: 2\r\n\r\n{}",
			     3, m, 2, &err);
	CHECK(n == 1 && m[0].status == 200);
	CHECK_STR(http_get(&m[0], "lambda-runtime-aws-request-id"), "r1");
	http_msg_free(&m[0]);
	/* A body framed by the end of the connection. */
	n = parse_all(false, "HTTP/1.1 202 Accepted\r\n\r\nuntil-eof", 4, m, 2, &err);
	CHECK(n == 1 && m[0].status == 202 && m[0].body_len == 9);
	http_msg_free(&m[0]);

	static const struct {
		const char *in;
		int err;
	} bad[] = {
		{ "GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", -EMSGSIZE },
		{ "GET / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", -EMSGSIZE },
		{ "BOGUS\r\n\r\n", -EPROTO },
		{ "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", -EPROTO },
		{ "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", -EPROTO },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = parse_all(true, bad[i].in, 5, m, 2, &err);
		CHECK_MSG(n == 0 && err == bad[i].err, bad[i].in);
	}
	/* Cut short: an error at EOF, not a message. */
	struct http_in *in = http_in_new(true, 100);
	size_t used;
	CHECK(http_in_feed(in, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 40, &used) == 0);
	CHECK(http_in_eof(in) == -EPROTO && strstr(http_in_error(in), "closed"));
	http_in_free(in);
}

UNIT_SUITE(http_serialize_round_trip)
{
	struct http_msg m = { .request = true, .keep_alive = true };
	char *buf;
	size_t len;
	int err;

	strcpy(m.method, "POST");
	m.target = strdup("/2018-06-01/runtime/invocation/x/error");
	CHECK(http_set(&m, "Lambda-Runtime-Function-Error-Type", "Security.Violation") == 0);
	CHECK(http_set(&m, "Transfer-Encoding", "chunked") == 0); /* dropped: we frame */
	CHECK(http_set(&m, "lambda-runtime-function-error-type", "Replaced") == 0);
	CHECK(http_set_body(&m, "{\"a\":1}", 7) == 0);
	CHECK(http_serialize(&m, &buf, &len) == 0);
	CHECK(strstr(buf, "Transfer-Encoding") == NULL && strstr(buf, "Content-Length: 7\r\n"));
	struct http_msg back[1] = { 0 };
	CHECK(parse_all(true, buf, 9, back, 1, &err) == 1);
	CHECK_STR(back[0].target, m.target);
	CHECK_STR(http_get(&back[0], "Lambda-Runtime-Function-Error-Type"), "Replaced");
	CHECK(back[0].body_len == 7 && memcmp(back[0].body, "{\"a\":1}", 7) == 0);
	free(buf);
	http_msg_free(&back[0]);
	http_msg_free(&m);
}
