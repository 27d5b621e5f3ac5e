/* Event inspection: where payloads hide (base64 bodies in every padding
 * and in the forms only nettle reads, JSON inside strings, form values)
 * and that each is judged with its own JSON path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "inspect.h"
#include "policy.h"
#include "unit.h"
#include "util.h"

struct icase {
	const char *event;
	int verdict;      /* insp_event(): 1 finding, 0 clean */
	const char *path; /* of the finding */
};

/* Every detector, as `events.detect` gives by default. */
static const struct insp_opts all = { .detect = POL_DETECT_SQLI | POL_DETECT_CMDI | POL_DETECT_XSS |
						POL_DETECT_PATH_TRAVERSAL };

static void run_table(const struct icase *t, size_t n)
{

	for (size_t i = 0; i < n; i++) {
		struct insp_finding f;
		int got = insp_event(&all, t[i].event, strlen(t[i].event), &f);
		CHECK_MSG(got == t[i].verdict, t[i].event);
		if (got == 1 && t[i].path)
			CHECK_STR(f.path, t[i].path);
	}
}

UNIT_SUITE(inspect_base64_bodies)
{
	/* "; cat /etc/passwd" with 0, 1 and 2 '=' of padding (the decoder's
	 * quick path), with a line break (nettle's), and text that is not
	 * base64 at all (judged as it is). */
	static const struct icase t[] = {
		{ "{\"isBase64Encoded\":true,\"body\":\"eDsgY2F0IC9ldGMvcGFzc3dk\"}", 1,
		  "body|base64" },
		{ "{\"isBase64Encoded\":true,\"body\":\"eHg7IGNhdCAvZXRjL3Bhc3N3ZA==\"}", 1,
		  "body|base64" },
		{ "{\"isBase64Encoded\":true,\"body\":\"eHh4OyBjYXQgL2V0Yy9wYXNzd2Q=\"}", 1,
		  "body|base64" },
		{ "{\"isBase64Encoded\":true,\"body\":\"eDsgY2F0IC9l\\ndGMvcGFzc3dk\"}", 1,
		  "body|base64" },
		{ "{\"isBase64Encoded\":true,\"body\":\"aGVsbG8gd29ybGQ=\"}", 0, NULL },
		/* Two quads: one in the quick loop, the padded last on its own. */
		{ "{\"isBase64Encoded\":true,\"body\":\"OyBpZA==\"}", 1, "body|base64" },
		{ "{\"isBase64Encoded\":true,\"body\":\"eDsgaWQ=\"}", 1, "body|base64" },
		{ "{\"isBase64Encoded\":true,\"body\":\"eHk7IGlk\"}", 1, "body|base64" },
		/* Not plain base64: each runtime's reading is judged (b64.h).
		 * Node and Python both stop at "eA==": "x", no attack. */
		{ "{\"isBase64Encoded\":true,\"body\":\"eA==OyBpZA==\"}", 0, NULL },
		/* ... here both read "; id" before the padding nettle refuses */
		{ "{\"isBase64Encoded\":true,\"body\":\"OyBpZA==eA==\"}", 1, "body|base64" },
		/* Python skips a '=' that ends no quad: "; id" (Node: ";") */
		{ "{\"isBase64Encoded\":true,\"body\":\"Oy=BpZA==\"}", 1, "body|base64" },
		{ "{\"isBase64Encoded\":true,\"body\":\"=OyBpZA==\"}", 1, "body|base64" },
		/* Node needs no padding (Python raises) */
		{ "{\"isBase64Encoded\":true,\"body\":\"OyBpZA\"}", 1, "body|base64" },
		/* both skip a byte outside the alphabet */
		{ "{\"isBase64Encoded\":true,\"body\":\"O$yBpZA==\"}", 1, "body|base64" },
		{ "{\"isBase64Encoded\":true,\"body\":\"OyB=pZA==\"}", 0, NULL },
		{ "{\"isBase64Encoded\":true,\"body\":\"not base64; cat /etc/passwd\"}", 1,
		  "body" },
		{ "{\"isBase64Encoded\":false,\"body\":\"eDsgY2F0IC9ldGMvcGFzc3dk\"}", 0, NULL },
		/* JSON inside the decoded body, field by field. */
		{ "{\"isBase64Encoded\":true,\"body\":\"eyJxIjogIjEnIE9SICcxJz0nMSJ9\"}", 1,
		  "body|base64|json.q" },
	};
	run_table(t, sizeof t / sizeof t[0]);
}

UNIT_SUITE(inspect_nested_documents)
{
	static const struct icase t[] = {
		/* An SQS batch: the second message's body is JSON with an attack. */
		{ "{\"Records\":[{\"eventSource\":\"aws:sqs\",\"body\":\"{\\\"a\\\":\\\"fine\\\"}"
		  "\"},"
		  "{\"eventSource\":\"aws:sqs\",\"body\":\"{\\\"a\\\":\\\"<script>x</"
		  "script>\\\"}\"}]}",
		  1, "Records[1].body|json.a" },
		{ "{\"Records\":[{\"body\":\"{\\\"a\\\":\\\"fine\\\"}\"},{\"body\":\"[1,2,"
		  "\\\"ok\\\"]\"}]}",
		  0, NULL },
		/* A broken inner document is judged as text. */
		{ "{\"m\":\"{not json; cat /etc/passwd\"}", 1, "m" },
		{ "{\"q\":\"a=1&b=..%2F..%2Fetc%2Fpasswd\"}", 1, "q[b]|url" },
		/* A form key is cut at 64 bytes in the path. */
		{ "{\"q\":\"a=1&"
		  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk="
		  "x;%20cat%20/etc/passwd\"}",
		  1, "q[kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk]|url" },
		{ "{\"a\":[[0,{\"\":{\"b\":\"x; cat /etc/passwd\"}}]]}", 1, "a[0][1]..b" },
		{ "{\"note\":\"The customer's order; total 42.50 -- see notes\"}", 0, NULL },
	};
	run_table(t, sizeof t / sizeof t[0]);
}

/* An SQS-shaped batch: n harmless records, then tail's body. */
static char *padded(size_t n, const char *tail)
{
	struct util_sb sb;

	util_sb_init(&sb, 0);
	util_sb_puts(&sb, "{\"Records\":[");
	for (size_t i = 0; i < n; i++)
		util_sb_puts(&sb, "{\"eventSource\":\"aws:sqs\",\"body\":\"hello world\"},");
	util_sb_puts(&sb, "{\"eventSource\":\"aws:sqs\",\"body\":\"");
	util_sb_puts(&sb, tail);
	util_sb_puts(&sb, "\"}]}");
	return util_sb_take(&sb);
}

/* What sits behind many harmless values is judged too, and an event too
 * big to judge whole is refused, never judged in part (fail closed). */
UNIT_SUITE(inspect_padding_does_not_hide)
{
	struct insp_finding f;
	const size_t pads[] = { 0, 3000, 20000 };

	for (size_t i = 0; i < sizeof pads / sizeof pads[0]; i++) {
		_cleanup_free_ char *ev = padded(pads[i], "1' OR '1'='1' --");
		CHECK(ev && insp_event(&all, ev, strlen(ev), &f) == 1);
		CHECK(ev && !strcmp(f.attack, "sqli"));
		_cleanup_free_ char *fine = padded(pads[i], "the order shipped");
		CHECK(fine && insp_event(&all, fine, strlen(fine), &f) == 0);
	}
	/* Over a million string values: -E2BIG, for the caller to refuse. */
	_cleanup_free_ char *huge = padded((1u << 20) / 2 + 1, "fine");
	CHECK(huge && insp_event(&all, huge, strlen(huge), &f) == -E2BIG);
}

/* Values already judged clean in an event are not judged again; what
 * differs by a byte, or sits at another depth, still is. */
UNIT_SUITE(inspect_repeated_values)
{
	struct insp_finding f;
	struct util_sb sb;

	util_sb_init(&sb, 0);
	util_sb_puts(&sb, "{\"items\":[");
	for (int i = 0; i < 500; i++)
		util_sb_puts(&sb, "{\"note\":\"it's fine -- really\"},");
	util_sb_puts(&sb, "{\"note\":\"x' OR '1'='1\"}],\"m\":\"{\\\"note\\\":\\\"it's fine "
			  "-- really\\\"}\"}");
	_cleanup_free_ char *ev = util_sb_take(&sb);
	CHECK(ev && insp_event(&all, ev, strlen(ev), &f) == 1);
	CHECK_STR(f.path, "items[500].note");
	/* The same event twice: the second judges afresh (nothing kept). */
	CHECK(ev && insp_event(&all, ev, strlen(ev), &f) == 1);
	static const struct icase t[] = {
		{ "{\"a\":\"x; cat /etc/passwd\",\"b\":\"x; cat /etc/passwd\"}", 1, "a" },
		{ "{\"a\":\"x; cat /etc/passwdd\",\"m\":\"{\\\"b\\\":\\\"x; cat "
		  "/etc/passwd\\\"}\"}",
		  1, "a" },
		{ "{\"a\":\"fine, thanks\",\"m\":\"{\\\"b\\\":\\\"fine, "
		  "thanks\\\"}\",\"c\":\"fine, "
		  "thanks; rm -rf /\"}",
		  1, "c" },
	};
	run_table(t, sizeof t / sizeof t[0]);
}

/* cJSON ends a string at an escaped NUL: an event holding one is refused
 * (-EILSEQ) rather than judged up to it; an escaped backslash before
 * "u0000" is no NUL. Inner documents too. */
UNIT_SUITE(inspect_escaped_nul)
{
	struct insp_finding f;
	static const struct {
		const char *ev;
		int want;
	} t[] = {
		{ "{\"q\":\"harmless\\u0000x' OR 1=1 --\"}", -EILSEQ },
		{ "{\"q\":\"harmless\\U0000\"}", 0 }, /* no JSON escape: judged as text */
		{ "{\"q\":\"a\\\\u0000b\"}", 0 },
		{ "{\"q\":\"a\\\\\\u0000b\"}", -EILSEQ },
		{ "{\"m\":\"{\\\"q\\\":\\\"x\\\\u0000y\\\"}\"}", -EILSEQ },
		{ "{\"q\":\"\\u0041\\u0030\"}", 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		CHECK_MSG(insp_event(&all, t[i].ev, strlen(t[i].ev), &f) == t[i].want, t[i].ev);
	/* At every offset (the search goes 16 positions at a time), and with
	 * the backslashes before it across a block's edge. */
	char ev[128];
	for (int pad = 0; pad < 48; pad++) {
		snprintf(ev, sizeof ev, "{\"q\":\"%.*s\\u0000\"}", pad,
			 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		CHECK_MSG(insp_event(&all, ev, strlen(ev), &f) == -EILSEQ, ev);
		snprintf(ev, sizeof ev, "{\"q\":\"%.*s\\\\u0000\"}", pad,
			 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		CHECK_MSG(insp_event(&all, ev, strlen(ev), &f) == 0, ev);
		snprintf(ev, sizeof ev, "{\"q\":\"%.*s\\\\\\u0000\"}", pad,
			 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		CHECK_MSG(insp_event(&all, ev, strlen(ev), &f) == -EILSEQ, ev);
	}
	/* A decoded %00 between SQL words: the words are still read as SQL. */
	static const struct insp_opts sqli = { .detect = POL_DETECT_SQLI };
	const char *q = "{\"queryStringParameters\":{\"id\":\"1'%00OR%001=1--\"}}";
	CHECK(insp_event(&sqli, q, strlen(q), &f) == 1);
	CHECK_STR(f.path, "queryStringParameters.id|url");
}

/* Where parsers could disagree with the function's: a document nested
 * deeper than the walk goes is refused, not judged in part; a body whose
 * isBase64Encoded is given twice, differently, is judged both ways. */
UNIT_SUITE(inspect_parser_disagreements)
{
	struct insp_finding f;
	struct util_sb sb;

	util_sb_init(&sb, 0);
	for (int i = 0; i < 70; i++)
		util_sb_puts(&sb, "{\"a\":");
	util_sb_puts(&sb, "{\"q\":\"x' OR 1=1 --\"}");
	for (int i = 0; i < 70; i++)
		util_sb_putc(&sb, '}');
	_cleanup_free_ char *deep = util_sb_take(&sb);
	CHECK(deep && insp_event(&all, deep, strlen(deep), &f) == -E2BIG);
	/* "eDsgY2F0IC9ldGMvcGFzc3dk" is "x; cat /etc/passwd". */
	static const struct icase t[] = {
		{ "{\"isBase64Encoded\":false,\"isBase64Encoded\":true,"
		  "\"body\":\"eDsgY2F0IC9ldGMvcGFzc3dk\"}",
		  1, "body|base64" },
		{ "{\"isBase64Encoded\":true,\"isBase64Encoded\":false,"
		  "\"body\":\"a=1&b=x%3B%20cat%20%2Fetc%2Fpasswd\"}",
		  1, NULL },
		{ "{\"isBase64Encoded\":true,\"isBase64Encoded\":true,"
		  "\"body\":\"aGVsbG8gd29ybGQ=\"}",
		  0, NULL },
		{ "{\"isBase64Encoded\":\"true\",\"body\":\"eDsgY2F0IC9ldGMvcGFzc3dk\"}", 1,
		  "body|base64" },
		/* cJSON stops after the first value; what follows is text. */
		{ "{\"body\":\"{\\\"a\\\":1} x' OR 1=1 --\"}", 1, "body" },
		{ "{\"body\":\"{\\\"a\\\":1}  \\n \"}", 0, NULL },
		{ "{\"a\":\"fine\"} x; cat /etc/passwd", 1, "$" },
		/* Documents cJSON refuses and Python or Node reads (jsonfix.h):
		 * each field is still judged on its own. */
		{ "{\"a\": NaN, \"q\": \"1' OR 1=1 --\"}", 1, "q" },
		{ "[-Infinity, Infinity, \"1' OR 1=1 --\"]", 1, "[2]" },
		{ "{\"x\": \"\\ud800\", \"q\": \"1' OR 1=1 --\"}", 1, "q" },
		{ "{\"x\": \"\\udc00\\ud800\", \"q\": \"1' OR 1=1 --\"}", 1, "q" },
		{ "{\"m\": \"{\\\"x\\\": \\\"\\\\ud800\\\", \\\"q\\\": \\\"x; id\\\"}\"}", 1,
		  "m|json.q" },
		{ "{\"x\": \"\\ud83d\\ude00\", \"q\": \"fine\"}", 0, NULL },
		{ "{\"x\": \"\\\\ud800 NaN\", \"q\": \"fine\"}", 0, NULL },
	};
	run_table(t, sizeof t / sizeof t[0]);
}

/* The texts a response carries (insp_response_texts): found as its
 * reader has them, decoded. */
static bool holds_needle(void *arg, const char *s, size_t len)
{
	const char *needle = arg;
	return memmem(s, len, needle, strlen(needle)) != NULL;
}

UNIT_SUITE(inspect_response_texts)
{
	static const struct {
		const char *body;
		int want;
	} t[] = {
		/* escaped once, as json.dumps writes a quote and a backslash */
		{ "{\"v\": \"pa\\\"ss\\\\word\"}", 1 },
		/* twice: an API Gateway body that is itself JSON */
		{ "{\"body\": \"{\\\"v\\\": \\\"pa\\\\\\\"ss\\\\\\\\word\\\"}\"}", 1 },
		/* base64 ("pa\"ss\\word" as the body), only where marked */
		{ "{\"isBase64Encoded\": true, \"body\": \"cGEic3Ncd29yZA==\"}", 1 },
		{ "{\"isBase64Encoded\": false, \"body\": \"cGEic3Ncd29yZA==\"}", 0 },
		/* base64 a lenient decoder reads ("=" in the middle) */
		{ "{\"isBase64Encoded\": true, \"body\": \"cGEic3Nc=d29yZA==\"}", 1 },
		/* in a key, in an array, as \u escapes */
		{ "{\"pa\\\"ss\\\\word\": 1}", 1 },
		{ "[1, [\"x\", \"pa\\u0022ss\\u005cword\"]]", 1 },
		{ "{\"v\": \"clean\"}", 0 },
		{ "not json pa\"ss\\word", 0 }, /* the body itself is the caller's */
	};

	static char needle[] = "pa\"ss\\word", x[] = "x";

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		CHECK_MSG(insp_response_texts(t[i].body, strlen(t[i].body), holds_needle, needle) ==
				  t[i].want,
			  t[i].body);
	/* Nested past the walk's depth: refused, not seen in part. */
	char deep[256];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[200] = 0;
	CHECK(insp_response_texts(deep, strlen(deep), holds_needle, x) == -E2BIG);
}
