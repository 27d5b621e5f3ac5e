/* libFuzzer: HTTP/1.1 messages as the Runtime API proxy parses them, from
 * the workload (requests) and from the upstream (responses), fed in
 * pieces whose sizes the input chooses; every message taken is
 * re-serialised and parsed back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void run(bool request, const uint8_t *data, size_t size)
{
	struct http_in *in = http_in_new(request, 1 << 16);
	size_t off = 0, step = size ? (size_t)data[0] % 17 + 1 : 1;

	if (!in)
		return;
	while (off < size) {
		size_t n = size - off < step ? size - off : step, used;
		int rc = http_in_feed(in, (const char *)data + off, n, &used);
		off += used;
		if (rc < 0)
			break;
		if (rc == 1) {
			struct http_msg m;
			char *buf;
			size_t len;
			http_in_take(in, &m);
			(void)http_get(&m, "content-type");
			if (http_serialize(&m, &buf, &len) == 0) {
				struct http_in *back = http_in_new(request, 1 << 17);
				size_t u;
				if (back && http_in_feed(back, buf, len, &u) < 0)
					abort(); /* what we write must parse */
				http_in_free(back);
				free(buf);
			}
			http_msg_free(&m);
		} else if (used < n) {
			break;
		}
	}
	(void)http_in_eof(in);
	http_in_free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(true, data, size);
	run(false, data, size);
	return 0;
}
