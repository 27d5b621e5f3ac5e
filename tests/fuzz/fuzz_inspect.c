/* libFuzzer: event and response inspection over hostile bodies (JSON or
 * not: nested, base64, URL-encoded, JSON in strings), every detector on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "policy.h"

/* Reads every byte of each text, so a text past its buffer shows. */
static bool touch(void *arg, const char *s, size_t len)
{
	unsigned *sum = arg;
	for (size_t i = 0; i < len; i++)
		*sum += (unsigned char)s[i];
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sum = 0;
	struct insp_opts o = { .detect = POL_DETECT_SQLI | POL_DETECT_CMDI | POL_DETECT_XSS |
					 POL_DETECT_PATH_TRAVERSAL };
	struct insp_finding f;
	char *copy = malloc(size + 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	if (insp_event(&o, copy, size, &f) == 1 && (!f.attack || !f.source))
		abort();
	(void)insp_response(NULL, copy, size, &f);
	if (insp_response_texts(copy, size, touch, &sum) > 0)
		abort(); /* touch never stops the walk */
	(void)insp_source(copy, size);
	free(copy);
	return 0;
}
