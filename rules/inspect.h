/* Inspection of Lambda invocation events and responses: every string leaf
 * of the event is judged with its JSON path (Records[0].Sns.Message), and
 * so is what hides inside it — a base64 body (isBase64Encoded), a
 * URL-encoded query string or form, JSON inside a string (an SNS Message
 * that is itself JSON). Detectors: SQL injection (sqli.h), command
 * injection, XSS and path traversal (detect.h), and the events rule files
 * (protectLambda `in_protect.txt` lines work unchanged). Pure: no system
 * calls; bounded depth and work. */
#ifndef FNG_INSPECT_H
#define FNG_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

#include "rules.h"

struct insp_opts {
	unsigned detect;           /* enum pol_detector bits (policy.h) */
	const struct rules *rules; /* rule files; NULL: none */
};

struct insp_finding {
	const char *attack; /* "sqli", "cmdi", "xss", "path_traversal", "rule" */
	char rule[128];     /* the rule id, or the detector's reason */
	char path[256];     /* JSON path, with |base64 |url |json decoding steps */
	char payload[256];  /* the judged value, truncated (not yet redacted) */
	const char *source; /* "aws:sns", "aws:sqs", ..., "unknown" */
};

/* Judges an event body (JSON, or any text). Returns 1 with *f filled on
 * the first finding, 0 when clean, or -errno when it could not be judged
 * whole, which the caller must treat as a finding (fail closed): -E2BIG
 * (more string leaves than the bound, or a rule at PCRE2's match limit),
 * -EILSEQ (an escaped NUL, \u0000, which the JSON parser cannot carry
 * within a string), -ENOMEM. */
int insp_event(const struct insp_opts *o, const char *body, size_t len, struct insp_finding *f);

/* The event's source ("aws:sns", "aws:sqs", "aws:s3", "aws:dynamodb",
 * "aws:kinesis", "aws:apigateway", "aws:apigateway:v2", "aws:alb",
 * "aws:events", "unknown") for a body. */
const char *insp_source(const char *body, size_t len);

/* Judges a response body with the responses rule files and the AWS
 * access key id pattern (AKIA/ASIA + 16). Returns 1 with *f filled
 * (attack "rule" or "aws_key"), 0, or -errno as insp_event (fail
 * closed). Secret environment values are the caller's to check (the
 * log's redaction knows them). */
int insp_response(const struct rules *r, const char *body, size_t len, struct insp_finding *f);

/* Whether s holds an AWS access key id (AKIA/ASIA + 16 upper-case
 * letters or digits, on word bounds); *at is where. */
bool insp_aws_key(const char *s, size_t len, size_t *at);

/* The texts a response carries inside its JSON, as the code that reads
 * the response would have them: each key and string value decoded by the
 * JSON parser (what the runtime's encoder escaped is whole again), the
 * JSON documents inside strings (an API Gateway response's body), and a
 * body that isBase64Encoded marks, decoded as each runtime reads it. fn
 * is called on each and returns true to stop. Returns 1 when it stopped,
 * 0 when it saw every text (a body that is no JSON has none: the caller
 * judges the body itself), or -errno as insp_event (fail closed). */
typedef bool (*insp_text_fn)(void *arg, const char *s, size_t len);
int insp_response_texts(const char *body, size_t len, insp_text_fn fn, void *arg);

#endif
