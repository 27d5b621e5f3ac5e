/* Policy loader: (YAML -> model) for valid policies, (YAML -> message,
 * line, column) for invalid ones, network.allow entries, and limits. */
#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "internal.h"
#include "policy.h"
#include "unit.h"

static int parse(const char *yaml, struct policy **p, struct pol_diags *d)
{
	return policy_parse(yaml, strlen(yaml), "t.yaml", p, d);
}

static void dump(const struct pol_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  %s:%d:%d: %s\n", d->v[i].file, d->v[i].line, d->v[i].col,
			d->v[i].msg);
}

/* ---- valid policies --------------------------------------------------- */

static const char full_yaml[] =
	"version: 1\n"
	"name: sns-db-checker\n"
	"mode: audit\n"
	"action: deny\n"
	"require: kernel\n"
	"exec:\n"
	"  allow: [/var/lang/bin/python3*]\n"
	"network:\n"
	"  allow: [\"*.amazonaws.com:443\", \"api.example.com\", \"10.0.0.0/8\"]\n"
	"  loopback: false\n"
	"  engine: bpf\n"
	"  action: log\n"
	"code:\n"
	"  paths: [/var/task, /opt]\n"
	"  rules:\n"
	"    - id: py-subprocess\n"
	"      pattern: '\\bsubprocess\\.(call|run)\\s*\\('\n"
	"      message: no subprocess\n"
	"      severity: high\n"
	"  rule_files: [code_protect.txt]\n"
	"  cache: verdicts.cache\n"
	"  handover: always\n"
	"  action: kill\n"
	"events:\n"
	"  detect: [sqli, xss]\n"
	"  rule_files: [in_protect.txt]\n"
	"responses:\n"
	"  secrets: none\n"
	"  rule_files: [out_protect.txt]\n"
	"  action: deny\n"
	"log:\n"
	"  sink: /var/log/fnguard.jsonl\n"
	"  allowed: True\n";

UNIT_SUITE(policy_full)
{
	struct pol_diags d = { NULL, 0 };
	struct policy *p = NULL;
	int r = parse(full_yaml, &p, &d);

	CHECK(r == 0);
	CHECK(d.n == 0);
	dump(&d);
	if (!p)
		return;
	CHECK_STR(p->file, "t.yaml");
	CHECK(p->version == 1);
	CHECK_STR(p->name, "sns-db-checker");
	CHECK(p->mode == POL_MODE_AUDIT);
	CHECK(p->action == POL_ACT_DENY);
	CHECK(p->require == POL_TIER_KERNEL);
	CHECK(p->exec.present && p->exec.allow.n == 1);
	CHECK_STR(p->exec.allow.v[0], "/var/lang/bin/python3*");
	CHECK(p->exec.allow.loc[0].line == 7 && p->exec.allow.loc[0].col == 11);
	CHECK(p->exec.loc.line == 6 && p->exec.loc.col == 1);
	CHECK(p->exec.action == POL_ACT_UNSET);
	CHECK(policy_effective(p, p->exec.action) == POL_ACT_DENY);
	CHECK(p->network.present && p->network.n_allow == 3);
	CHECK(!p->network.loopback);
	CHECK(p->network.engine == POL_ENGINE_BPF);
	CHECK(p->network.action == POL_ACT_LOG);
	if (p->network.n_allow == 3) {
		CHECK(p->network.allow[0].kind == POL_NET_WILDCARD);
		CHECK_STR(p->network.allow[0].domain, "amazonaws.com");
		CHECK_STR(p->network.allow[0].text, "*.amazonaws.com:443");
		CHECK(p->network.allow[0].port == 443);
		CHECK(p->network.allow[0].loc.line == 9 && p->network.allow[0].loc.col == 11);
		CHECK(p->network.allow[1].kind == POL_NET_DOMAIN);
		CHECK(p->network.allow[2].kind == POL_NET_CIDR);
		CHECK(p->network.allow[2].prefix == 8);
	}
	CHECK(p->code.present && p->code.paths.n == 2 && p->code.n_rules == 1);
	if (p->code.n_rules == 1) {
		CHECK_STR(p->code.rules[0].id, "py-subprocess");
		CHECK_STR(p->code.rules[0].pattern, "\\bsubprocess\\.(call|run)\\s*\\(");
		CHECK_STR(p->code.rules[0].message, "no subprocess");
		CHECK_STR(p->code.rules[0].severity, "high");
		CHECK(p->code.rules[0].loc.line == 16 && p->code.rules[0].loc.col == 7);
	}
	CHECK(p->code.rule_files.n == 1);
	CHECK_STR(p->code.cache, "verdicts.cache");
	CHECK(p->code.handover == POL_HANDOVER_ALWAYS);
	CHECK(p->code.action == POL_ACT_KILL);
	CHECK(p->events.present && p->events.detect == (POL_DETECT_SQLI | POL_DETECT_XSS));
	CHECK(p->events.action == POL_ACT_UNSET);
	CHECK(p->responses.present && p->responses.secrets == POL_SECRETS_NONE);
	CHECK_STR(p->responses.rule_files.v[0], "out_protect.txt");
	CHECK_STR(p->log.sink, "/var/log/fnguard.jsonl");
	CHECK(p->log.allowed);
	policy_free(p);
	pol_diags_clear(&d);
}

UNIT_SUITE(policy_defaults)
{
	static const char *const yamls[] = {
		"version: 1\nexec:\nnetwork:\ncode:\nevents:\nresponses:\nlog:\n",
		"version: 1\nexec: ~\nnetwork: null\ncode: {}\nevents: {}\nresponses: {}\nlog: "
		"{}\n",
	};
	struct pol_diags d = { NULL, 0 };
	struct policy *p = NULL;

	for (size_t i = 0; i < 2; i++) {
		CHECK(parse(yamls[i], &p, &d) == 0);
		dump(&d);
		if (!p)
			continue;
		CHECK(p->exec.present && p->exec.allow.n == 0);
		CHECK(p->network.present && p->network.n_allow == 0 && p->network.loopback);
		CHECK(p->network.engine == POL_ENGINE_AUTO);
		CHECK(p->code.present && p->events.present && p->responses.present);
		CHECK(p->code.handover == POL_HANDOVER_WRITABLE);
		CHECK(p->events.detect == (POL_DETECT_SQLI | POL_DETECT_CMDI | POL_DETECT_XSS |
					   POL_DETECT_PATH_TRAVERSAL));
		CHECK(p->responses.secrets == POL_SECRETS_ENV);
		CHECK(p->log.sink == NULL && !p->log.allowed);
		CHECK(p->name == NULL && p->action == POL_ACT_UNSET);
		policy_free(p);
	}
	/* Nothing but the version: every section absent. */
	CHECK(parse("version: 1\n", &p, &d) == 0);
	if (p) {
		CHECK(!p->exec.present && !p->network.present && !p->code.present);
		CHECK(!p->events.present && !p->responses.present);
		CHECK(p->mode == POL_MODE_ENFORCE && p->require == POL_TIER_ANY);
	}
	policy_free(p);
	/* An explicit empty list of detectors means none; booleans in any case. */
	CHECK(parse("version: 1\nevents: {detect: []}\nlog: {allowed: TRUE}\n"
		    "network: {loopback: fAlSe, allow: []}\nexec: {allow: []}\n",
		    &p, &d) == 0);
	if (p) {
		CHECK(p->events.detect == 0);
		CHECK(p->log.allowed && !p->network.loopback);
		CHECK(p->exec.present && p->exec.allow.n == 0);
	}
	policy_free(p);
	/* Quoted strings are strings; a sink of stdout; a comment-only tail. */
	CHECK(parse("\"version\": 1\nname: \"my fn\"\nlog: {sink: stdout}\n# end\n", &p, &d) == 0);
	if (p) {
		CHECK_STR(p->name, "my fn");
		CHECK_STR(p->log.sink, "stdout");
	}
	policy_free(p);
	CHECK(d.n == 0);
	dump(&d);
	pol_diags_clear(&d);
}

UNIT_SUITE(policy_examples_shape)
{
	/* The NULL buffer is an empty file. */
	struct pol_diags d = { NULL, 0 };
	struct policy *p = (struct policy *)&d; /* must be reset to NULL */

	CHECK(policy_parse(NULL, 0, NULL, &p, &d) == -EINVAL);
	CHECK(p == NULL);
	CHECK(d.n == 1);
	if (d.n == 1) {
		CHECK_STR(d.v[0].file, "policy");
		CHECK(strstr(d.v[0].msg, "empty policy") != NULL);
	}
	pol_diags_clear(&d);
	CHECK(d.n == 0 && d.v == NULL);
	pol_diags_clear(&d);
	pol_diags_clear(NULL);
	/* No diagnostics list: the result still says what happened. */
	CHECK(policy_parse("x", 1, "f", &p, NULL) == -EINVAL);
	CHECK(policy_parse("version: 1", 10, "f", &p, NULL) == 0);
	policy_free(p);
	policy_free(NULL);
}

/* ---- invalid policies: message, line, column -------------------------- */

static const struct {
	const char *yaml;
	const char *msg; /* a substring of one diagnostic */
	int line, col;
} bad[] = {
	{ "", "empty policy; expected a mapping with 'version: 1'", 1, 1 },
	{ "# only a comment\n", "empty policy", 1, 1 },
	{ "~\n", "empty policy", 1, 1 },
	{ "- a\n- b\n", "a policy must be a mapping that starts with 'version: 1' (got a list)", 1,
	  1 },
	{ "hello\n", "(got a string)", 1, 1 },
	{ "name: x\n", "missing 'version: 1'", 1, 1 },
	{ "{}\n", "missing 'version: 1'", 1, 1 },
	{ "version: 2\n", "version must be 1 (got '2')", 1, 10 },
	{ "version:\n", "version must be 1 (got nothing)", 1, 9 },
	{ "version: [1]\n", "version must be 1 (got a list)", 1, 10 },
	{ "version: 1\nversion: 1\n",
	  "duplicate key 'version' at the top level (first given at "
	  "line 1, column 1)",
	  2, 1 },
	{ "version: 1\nexec:\n  alow: [/bin/sh]\n",
	  "unknown key 'alow' in exec (expected one of: allow, action); did you mean 'allow'?", 3,
	  3 },
	{ "version: 1\nfoo: 1\n",
	  "unknown key 'foo' at the top level (expected one of: version, "
	  "name, mode, action, require, exec, network, code, events, "
	  "responses, log)",
	  2, 1 },
	{ "version: 1\nNetwork: {}\n", "did you mean 'network'?", 2, 1 },
	{ "version: 1\naction: block\n", "action must be one of kill, deny, log (got 'block')", 2,
	  9 },
	{ "version: 1\naction: Kill\n", "(got 'Kill'); values are lower case", 2, 9 },
	{ "version: 1\naction:\n", "action must be one of kill, deny, log (got nothing)", 2, 8 },
	{ "version: 1\nmode: learn\n", "mode must be one of enforce, audit (got 'learn')", 2, 7 },
	{ "version: 1\nrequire: bpf\n", "require must be one of any, preload, kernel (got 'bpf')",
	  2, 10 },
	{ "version: 1\nname: [a]\n", "name must be a string (got a list)", 2, 7 },
	{ "version: 1\nname: {a: b}\n", "name must be a string (got a mapping)", 2, 7 },
	{ "version: 1\nname: \"\"\n", "name must not be empty", 2, 7 },
	{ "version: 1\nname: \"a\\0b\"\n", "name contains a NUL byte", 2, 7 },
	{ "version: 1\nexec: [/bin/sh]\n",
	  "exec must be a mapping (got a list); write exec: "
	  "{allow: [/usr/bin/python3*]}",
	  2, 7 },
	{ "version: 1\nexec: yes\n", "exec must be a mapping (got a string)", 2, 7 },
	{ "version: 1\nexec: {action: deny, action: kill}\n", "duplicate key 'action' in exec", 2,
	  22 },
	{ "version: 1\nexec: {allow: /bin/sh}\n",
	  "exec.allow must be a list (got a string); write [/bin/sh]", 2, 15 },
	{ "version: 1\nexec: {allow: [bin/sh]}\n",
	  "exec.allow: 'bin/sh' is not an absolute path; globs start with '/'", 2, 16 },
	{ "version: 1\nexec:\n  allow:\n    - /ok\n    - \"/usr/[a\"\n",
	  "exec.allow: bad glob '/usr/[a': unterminated '['", 5, 7 },
	{ "version: 1\nexec: {allow: ['/a\\']}\n", "trailing backslash", 2, 16 },
	{ "version: 1\nexec: {allow: [[/a]]}\n",
	  "each exec.allow entry must be a string (got a "
	  "list)",
	  2, 16 },
	{ "version: 1\nexec: {allow: [\"\"]}\n", "each exec.allow entry must not be empty", 2, 16 },
	{ "version: 1\nexec: {action: [kill]}\n",
	  "exec.action must be one of kill, deny, log (got a list)", 2, 16 },
	{ "version: 1\nnetwork:\n  loopback: yes\n",
	  "network.loopback must be true or false (got 'yes'); words like yes, no, on, off are "
	  "not booleans here",
	  3, 13 },
	{ "version: 1\nnetwork:\n  loopback: \"true\"\n",
	  "network.loopback must be true or false without quotes (got the string 'true')", 3, 13 },
	{ "version: 1\nnetwork:\n  loopback: 1\n", "network.loopback must be true or false", 3,
	  13 },
	{ "version: 1\nnetwork:\n  loopback:\n", "must be true or false (got nothing)", 3, 12 },
	{ "version: 1\ncode: {paths: [/var/task], handover: never}\n",
	  "code.handover must be one of writable, always (got 'never')", 2, 38 },
	{ "version: 1\nnetwork: {engine: ebpf}\n",
	  "network.engine must be one of auto, notify, bpf (got 'ebpf')", 2, 19 },
	{ "version: 1\nnetwork: {allow: [\"10.0.0.1/8\"]}\n",
	  "network.allow: host bits set in '10.0.0.1/8'; did you mean 10.0.0.0/8?", 2, 19 },
	{ "version: 1\nnetwork:\n  allow:\n    - api.example.com: 443\n",
	  "each network.allow entry must be a string (got a mapping); write host:port with no "
	  "space",
	  4, 7 },
	{ "version: 1\nnetwork: {allow: [x.com:0]}\n",
	  "network.allow: port must be a number from 1 to 65535 (got '0')", 2, 19 },
	{ "version: 1\nnetwork: [a.com]\n",
	  "network must be a mapping (got a list); write "
	  "network: {allow: [api.example.com:443]}",
	  2, 10 },
	{ "version: 1\ncode: {paths: [var/task]}\n",
	  "code.paths: 'var/task' is not an absolute path (e.g. /var/task)", 2, 16 },
	{ "version: 1\ncode:\n  rules:\n    - id: a\n      pattern: '(x'\n",
	  "code.rules pattern is not a valid PCRE2 regex: missing closing parenthesis at offset 2",
	  5, 16 },
	{ "version: 1\ncode:\n  rules:\n    - pattern: x\n", "code.rules entry has no 'id'", 4, 7 },
	{ "version: 1\ncode:\n  rules:\n    - id: x\n", "code.rules entry has no 'pattern'", 4, 7 },
	{ "version: 1\ncode:\n  rules:\n    - {id: a, pattern: x}\n    - {id: a, pattern: y}\n",
	  "code.rules id 'a' is used twice; ids must be unique", 5, 8 },
	{ "version: 1\ncode:\n  rules:\n    - id: a\n      pattern: x\n      sev: low\n",
	  "unknown key 'sev' in a code.rules entry (expected one of: id, pattern, message, "
	  "severity)",
	  6, 7 },
	{ "version: 1\ncode: {rules: [{id: a, pattern: x, severity: urgent}]}\n",
	  "code.rules severity must be one of low, medium, high, critical (got 'urgent')", 2, 46 },
	{ "version: 1\ncode: {rules: [x]}\n",
	  "each code.rules entry must be a mapping with id and pattern (got a string)", 2, 16 },
	{ "version: 1\ncode: {rules: {id: a}}\n", "code.rules must be a list (got a mapping)", 2,
	  15 },
	{ "version: 1\nevents: {detect: [sqli, rce]}\n",
	  "each events.detect entry must be one of sqli, cmdi, xss, path_traversal (got 'rce')", 2,
	  25 },
	{ "version: 1\nevents: {detect: [xss, xss]}\n", "'xss' is listed twice in events.detect", 2,
	  24 },
	{ "version: 1\nresponses: {secrets: all}\n",
	  "responses.secrets must be one of env, none (got 'all')", 2, 22 },
	{ "version: 1\nlog: {sink: out.log}\n",
	  "log.sink must be stderr, stdout or an absolute file path (got 'out.log')", 2, 13 },
	{ "version: 1\nlog: {allowed: on}\n", "log.allowed must be true or false (got 'on')", 2,
	  16 },
	{ "version: 1\nlog: [a]\n", "log must be a mapping (got a list)", 2, 6 },
	/* YAML itself */
	{ "version: 1\nexec:\n  allow: [*.x]\n",
	  "invalid YAML: did not find expected alphabetic or numeric character (while scanning "
	  "an alias at line 3, column 11); a value that starts with '*' must be quoted",
	  3, 12 },
	{ "version: 1\nexec:\n\tallow: []\n", "YAML indentation uses spaces, not tabs", 3, 1 },
	{ "version: 1\nexec: {allow: [a\n", "invalid YAML: did not find expected ',' or ']'", 3,
	  1 },
	{ "version: 1\n  name: x\n",
	  "invalid YAML: mapping values are not allowed in this "
	  "context",
	  2, 7 },
	{ "version: 1\n---\nversion: 1\n", "a policy is one YAML document; remove this second one",
	  2, 1 },
	{ "version: 1\nname: &n x\n", "anchors (&n) are not allowed in a policy", 2, 7 },
	{ "version: 1\nname: *n\n", "aliases (*n) are not allowed in a policy", 2, 7 },
	{ "version: 1\n<<: {name: x}\n", "merge keys (<<) are not allowed in a policy", 2, 1 },
	{ "version: 1\nname: !!str x\n", "YAML tags (!!str) are not allowed in a policy", 2, 7 },
	{ "version: 1\nname: !mine x\n", "YAML tags (!mine) are not allowed", 2, 7 },
	{ "version: 1\n? [a]\n: b\n", "keys at the top level must be strings (got a list)", 2, 3 },
	{ "version: 1\nname: \"\\x01\\e\"\n", "", 0, 0 }, /* control bytes are fine in a name */
	{ "version: 1\nexec: {allow: [\"/a\\x01b\"]}\n", "", 0, 0 },
	{ "version: 1\nnetwork: {allow: [\"a\\x01b.com\"]}\n",
	  "invalid character byte 0x01 in domain 'a?b.com'", 2, 19 },
	{ "\xff\xfe\x41", "invalid YAML: incomplete UTF-16 character", 1, 3 },
	{ "version: 1\nname: \xc3\x28\n", "invalid YAML: invalid trailing UTF-8 octet", 2, 8 },
};

UNIT_SUITE(policy_errors)
{
	char d[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pol_diags diags = { NULL, 0 };
		struct policy *p = NULL;
		size_t len = strlen(bad[i].yaml);
		int r;
		bool found = false;

		r = policy_parse(bad[i].yaml, len, "t.yaml", &p, &diags);
		if (!bad[i].line) {
			/* Not an error after all: must load. */
			snprintf(d, sizeof(d), "case %zu should load", i);
			CHECK_MSG(r == 0 && diags.n == 0, d);
			policy_free(p);
			dump(&diags);
			pol_diags_clear(&diags);
			continue;
		}
		CHECK(r == -EINVAL && p == NULL);
		for (size_t j = 0; j < diags.n && !found; j++)
			found = strstr(diags.v[j].msg, bad[i].msg) &&
				diags.v[j].line == bad[i].line && diags.v[j].col == bad[i].col;
		snprintf(d, sizeof(d), "case %zu: want %d:%d: %s", i, bad[i].line, bad[i].col,
			 bad[i].msg);
		CHECK_MSG(found, d);
		if (!found)
			dump(&diags);
		pol_diags_clear(&diags);
	}
}

/* ---- network.allow entries -------------------------------------------- */

static const struct {
	const char *text;
	const char *err; /* substring; NULL when the entry is valid */
	enum pol_net_kind kind;
	const char *domain; /* DOMAIN/WILDCARD */
	int family;
	const char *addr; /* CIDR, as inet_pton reads it */
	int prefix;
	uint16_t port;
} net_cases[] = {
	{ "example.com", NULL, POL_NET_DOMAIN, "example.com", 0, NULL, 0, 0 },
	{ "API.Example.COM.", NULL, POL_NET_DOMAIN, "api.example.com", 0, NULL, 0, 0 },
	{ "*.example.com:443", NULL, POL_NET_WILDCARD, "example.com", 0, NULL, 0, 443 },
	{ "a_b-c.x9.example:65535", NULL, POL_NET_DOMAIN, "a_b-c.x9.example", 0, NULL, 0, 65535 },
	{ "localhost:1", NULL, POL_NET_DOMAIN, "localhost", 0, NULL, 0, 1 },
	{ "1.2.3.4", NULL, POL_NET_CIDR, NULL, AF_INET, "1.2.3.4", 32, 0 },
	{ "10.0.0.0/8", NULL, POL_NET_CIDR, NULL, AF_INET, "10.0.0.0", 8, 0 },
	{ "10.0.0.0/8:443", NULL, POL_NET_CIDR, NULL, AF_INET, "10.0.0.0", 8, 443 },
	{ "0.0.0.0/0", NULL, POL_NET_CIDR, NULL, AF_INET, "0.0.0.0", 0, 0 },
	{ "192.168.1.128/25", NULL, POL_NET_CIDR, NULL, AF_INET, "192.168.1.128", 25, 0 },
	{ "[2001:db8::]/32:443", NULL, POL_NET_CIDR, NULL, AF_INET6, "2001:db8::", 32, 443 },
	{ "[::1]:53", NULL, POL_NET_CIDR, NULL, AF_INET6, "::1", 128, 53 },
	{ "[::1]", NULL, POL_NET_CIDR, NULL, AF_INET6, "::1", 128, 0 },
	{ "[2001:db8::]/32", NULL, POL_NET_CIDR, NULL, AF_INET6, "2001:db8::", 32, 0 },
	{ "2001:db8::/32", NULL, POL_NET_CIDR, NULL, AF_INET6, "2001:db8::", 32, 0 },
	{ "::1", NULL, POL_NET_CIDR, NULL, AF_INET6, "::1", 128, 0 },
	{ "::ffff:10.0.0.1", NULL, POL_NET_CIDR, NULL, AF_INET6, "::ffff:10.0.0.1", 128, 0 },
	{ "", "empty entry" },
	{ "10.0.0.1/8", "host bits set in '10.0.0.1/8'; did you mean 10.0.0.0/8?" },
	{ "10.0.0.1/8:443", "did you mean 10.0.0.0/8:443?" },
	{ "[2001:db8::1]/32:443", "did you mean [2001:db8::]/32:443?" },
	{ "2001:db8::1/32", "did you mean 2001:db8::/32?" },
	{ "1.2.3.4/33", "IPv4 prefix length must be 0 to 32 (got '/33')" },
	{ "1.2.3.4/", "prefix length must be 0 to 32 (got '/')" },
	{ "[::1]/129", "IPv6 prefix length must be 0 to 128" },
	{ "1.2.3", "'1.2.3' is not a valid IPv4 address" },
	{ "256.1.1.1", "not a valid IPv4 address" },
	{ "gg::1", "'gg::1' is not a valid IPv6 address" },
	{ "x.com:0", "port must be a number from 1 to 65535 (got '0')" },
	{ "x.com:65536", "port must be a number from 1 to 65535" },
	{ "x.com:", "port must be a number from 1 to 65535 (got '')" },
	{ "x.com:+80", "port must be" },
	{ "[::1]:", "port must be" },
	{ "[::1", "missing ']'" },
	{ "[1.2.3.4]:80", "brackets are for IPv6 addresses" },
	{ "[::1]x", "unexpected 'x' after ']'" },
	{ "*", "'*' may only be the whole first label" },
	{ "a.*.com", "'*' may only be the whole first label" },
	{ "*.*.com", "'*' may only be the whole first label" },
	{ "*x.com", "'*' may only be the whole first label" },
	{ "*.", "must be 1 to 253 characters" },
	{ ".", "must be 1 to 253 characters" },
	{ "-a.com", "starts or ends with '-'" },
	{ "a-.com", "starts or ends with '-'" },
	{ "a..com", "every label of 'a..com' must be 1 to 63" },
	{ ".a.com", "every label" },
	{ "exa mple.com", "contains white space" },
	{ "ex!ample.com", "invalid character '!' in domain" },
	{ "caf\xc3\xa9.com", "invalid character byte 0xc3" },
	{ "example.com/24", "a /PREFIX needs an IP address" },
};

UNIT_SUITE(policy_net_entries)
{
	char err[512], d[700];
	uint8_t want[16];

	for (size_t i = 0; i < sizeof(net_cases) / sizeof(net_cases[0]); i++) {
		struct pol_net_entry e;
		int r;

		err[0] = '\0';
		r = pol_net_parse(net_cases[i].text, &e, err, sizeof(err));
		snprintf(d, sizeof(d), "'%s': r=%d err=%s", net_cases[i].text, r, err);
		if (net_cases[i].err) {
			CHECK_MSG(r == -EINVAL && strstr(err, net_cases[i].err), d);
			CHECK(e.text == NULL && e.domain == NULL);
			continue;
		}
		CHECK_MSG(r == 0, d);
		if (r != 0)
			continue;
		CHECK_MSG(e.kind == net_cases[i].kind, d);
		CHECK_STR(e.text, net_cases[i].text);
		CHECK_STR(e.domain, net_cases[i].domain);
		CHECK_MSG(e.port == net_cases[i].port, d);
		if (e.kind == POL_NET_CIDR) {
			memset(want, 0, sizeof(want));
			inet_pton(net_cases[i].family, net_cases[i].addr, want);
			CHECK_MSG(e.family == net_cases[i].family, d);
			CHECK_MSG(e.prefix == net_cases[i].prefix, d);
			CHECK_MSG(memcmp(e.addr, want, sizeof(want)) == 0, d);
		}
		pol_net_entry_clear(&e);
	}
}

UNIT_SUITE(policy_net_lengths)
{
	char name[300], err[512];
	struct pol_net_entry e;

	/* 63 characters is the longest label, 253 the longest name. */
	memset(name, 'a', 63);
	strcpy(name + 63, ".com");
	CHECK(pol_net_parse(name, &e, err, sizeof(err)) == 0);
	pol_net_entry_clear(&e);
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	CHECK(pol_net_parse(name, &e, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "1 to 63 characters") != NULL);
	for (size_t i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = '\0';
	CHECK(pol_net_parse(name, &e, err, sizeof(err)) == 0);
	pol_net_entry_clear(&e);
	strcpy(name + 253, "a.");
	CHECK(pol_net_parse(name, &e, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "must be 1 to 253 characters") != NULL);
}

/* ---- all errors at once, limits --------------------------------------- */

UNIT_SUITE(policy_all_errors)
{
	static const char yaml[] = "version: 1\n"
				   "name: &a x\n"           /* 2: anchor */
				   "exec: {allow: [rel]}\n" /* 3: not absolute */
				   "network:\n"
				   "  allow: [10.0.0.1/8]\n" /* 5: host bits */
				   "  loopback: no\n"        /* 6: not a boolean */
				   "log: {sink: x}\n";       /* 7: bad sink */
	struct pol_diags d = { NULL, 0 };
	struct policy *p = NULL;

	/* A diagnostic from an earlier file stays; new ones are appended. */
	CHECK(policy_parse("", 0, "first.yaml", &p, &d) == -EINVAL);
	CHECK(parse(yaml, &p, &d) == -EINVAL);
	CHECK(d.n == 6);
	if (d.n == 6) {
		CHECK_STR(d.v[0].file, "first.yaml");
		static const int lines[] = { 0, 2, 3, 5, 6, 7 }; /* in file order */

		for (size_t i = 1; i < 6; i++) {
			CHECK_STR(d.v[i].file, "t.yaml");
			CHECK(d.v[i].line == lines[i]);
		}
	} else {
		dump(&d);
	}
	pol_diags_clear(&d);
}

static char *repeat(const char *head, const char *item, size_t n, const char *tail)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
	char *s = malloc(hl + il * n + tl + 1), *o = s;

	if (!s)
		return NULL;
	memcpy(o, head, hl);
	o += hl;
	for (size_t i = 0; i < n; i++, o += il)
		memcpy(o, item, il);
	memcpy(o, tail, tl + 1);
	return s;
}

static bool fails_with(const char *yaml, const char *msg, size_t *n)
{
	struct pol_diags d = { NULL, 0 };
	struct policy *p = NULL;
	bool found = false;

	if (!yaml)
		return false;
	if (parse(yaml, &p, &d) == -EINVAL)
		for (size_t i = 0; i < d.n; i++)
			found |= strstr(d.v[i].msg, msg) != NULL;
	if (n)
		*n = d.n;
	if (!found)
		dump(&d);
	policy_free(p);
	pol_diags_clear(&d);
	return found;
}

UNIT_SUITE(policy_limits)
{
	char *s;
	size_t n = 0;

	s = repeat("version: 1\nname: ", "x", 4097, "\n");
	CHECK(fails_with(s, "name is too long (4097 bytes; at most 4096)", NULL));
	free(s);
	s = repeat("version: 1\nname: ", "x", 4096, "\n");
	CHECK(s && fails_with(s, "", NULL) == false); /* 4096 is fine */
	free(s);
	s = repeat("version: 1\nexec:\n  allow: [", "/a, ", 10001, "]\n");
	CHECK(fails_with(s, "exec.allow has 10001 entries (at most 10000)", NULL));
	free(s);
	s = repeat("version: 1\nx: ", "[", 40, "\n");
	CHECK(fails_with(s, "nesting deeper than 32 levels", NULL));
	free(s);
	/* Every key below is unknown: the list stops at 100 plus a note. */
	s = repeat("version: 1\n", "a: 1\n", 150, "");
	CHECK(fails_with(s, "too many errors; only the first 100 are shown", &n));
	CHECK(n == 101);
	free(s);
	/* Billion laughs: refused at the first anchor, no expansion. */
	CHECK(fails_with("version: 1\n"
			 "a: &a [x, x, x, x, x, x, x, x, x]\n"
			 "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			 "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
			 "aliases (*a) are not allowed", NULL));
}

/* The shipped examples must stay valid (run from the repository root, as
 * make does; elsewhere the check says it was skipped). */
UNIT_SUITE(policy_examples)
{
	static const char *const files[] = {
		"policy/examples/minimal.yaml",
		"policy/examples/full.yaml",
		"policy/examples/demo.yaml",
		"policy/examples/audit.yaml",
	};
	static char buf[65536];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pol_diags d = { NULL, 0 };
		struct policy *p = NULL;
		FILE *f = fopen(files[i], "rb");
		size_t n;

		if (!f) {
			fprintf(stderr,
				"policy_examples: SKIP %s: not found (run from the "
				"repository root)\n",
				files[i]);
			continue;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		CHECK_MSG(policy_parse(buf, n, files[i], &p, &d) == 0, files[i]);
		dump(&d);
		policy_free(p);
		pol_diags_clear(&d);
	}
}
