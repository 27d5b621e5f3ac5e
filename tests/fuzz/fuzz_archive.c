/* libFuzzer target for archives Python imports from (archive.c): a
 * hostile workload writes whatever bytes it likes into a .zip it then
 * opens. Whatever the input, parsing must not crash, every member handed
 * over must be NUL-terminated at its length and within CODE_MAX_FILE, and
 * a result must be one of the documented ones. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "prescan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool touch(void *arg, const struct arch_member *m)
{
	size_t *sum = arg;

	if (m->data[m->len] != 0 || m->len > CODE_MAX_FILE || strlen(m->name) >= ARCH_NAME_MAX)
		abort();
	for (size_t i = 0; i < m->len; i++)
		*sum += (unsigned char)m->data[i];
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arch_info info;
	char why[256];
	size_t sum = 0;

	int rc = arch_members("fuzz.zip", (const char *)data, size, touch, &sum, &info, why,
			      sizeof why);
	if (rc != 0 && rc != -EINVAL && rc != -EFBIG && rc != -ENOMEM)
		abort();
	if (rc == 0 && strlen(info.sourceless) >= sizeof info.sourceless)
		abort();
	return 0;
}
