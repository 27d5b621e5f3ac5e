/* One fnguard log line, taken apart without building a tree.
 *
 * The parser looks only at the top-level keys of one JSON object and
 * keeps, for the keys the report and learn need, a slice of the line
 * (no copy, no allocation): reading a million lines is then a scan of
 * bytes, not a million trees. Values of other keys, nested or not, are
 * skipped after checking that they are well-formed enough to be skipped.
 */
#ifndef FNG_REPORT_LINE_H
#define FNG_REPORT_LINE_H

#include <stdbool.h>
#include <stddef.h>

enum rep_key {
	RK_TS,
	RK_EVENT,
	RK_ACTION,
	RK_FUNCTION,
	RK_PID,
	RK_REQUEST_ID,
	RK_RULE,
	RK_REASON,
	RK_PATH,
	RK_NAME,
	RK_QTYPE,
	RK_PROTO,
	RK_ADDR,
	RK_PORT,
	RK_DOMAIN,
	RK_ATTACK,
	RK_JSON_PATH,
	RK_PAYLOAD,
	RK_SOURCE,
	RK_MATCH,
	RK_SYSCALL,
	RK_EXE,
	RK_MODE,
	RK_COUNTS,
	RK_N
};

enum rep_vtype { RV_NONE, RV_STRING, RV_NUMBER, RV_LITERAL, RV_OBJECT, RV_ARRAY };

/* A value inside the line: for strings the bytes between the quotes,
 * escapes still in (esc says whether there are any). */
struct rep_val {
	const char *p;
	size_t n;
	enum rep_vtype type;
	bool esc;
};

struct rep_line {
	const char *json; /* where the object starts (after any prefix) */
	size_t json_len;
	struct rep_val v[RK_N];
};

/* Parses one line (no newline). A line may carry a prefix before its
 * JSON object, as CloudWatch exports do ("2026-01-01T00:00:00.000Z
 * <request id> {...}"). Returns 1 for a fnguard line (an object with
 * string ts, event and action), 0 for anything else. */
int rep_line_parse(const char *line, size_t len, struct rep_line *out);

/* The decoded text of a string value into buf (NUL-terminated, cut at
 * size - 1 bytes on a UTF-8 boundary); numbers and literals as written.
 * Returns the length written. \u0000 decodes to U+FFFD: a C string
 * cannot hold it. */
size_t rep_val_text(const struct rep_val *v, char *buf, size_t size);

/* True when v is the string s (decoded). */
bool rep_val_is(const struct rep_val *v, const char *s);

/* The integer value of a number, or def. */
long long rep_val_int(const struct rep_val *v, long long def);

/* Sum of the numbers in counts[event] (an object of action: n), as the
 * exit event writes it. With action non-NULL only that action. */
long long rep_counts_get(const struct rep_val *counts, const char *event, const char *action);

#endif
