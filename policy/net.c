/* network.allow entries: domains, wildcards, IPv4/IPv6 CIDRs, each with an
 * optional port. inet_pton/inet_ntop are pure libc; nothing here makes a
 * system call. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DOMAIN_MAX 253
#define LABEL_MAX  63

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Decimal number of at most `maxdig` digits, no sign, no spaces. */
static long parse_num(const char *s, size_t n, size_t maxdig)
{
	long v = 0;

	if (!all_digits(s, n) || n > maxdig)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int parse_port(const char *s, size_t n, uint16_t *port, char *err, size_t errlen)
{
	long v = parse_num(s, n, 5);

	if (v < 1 || v > 65535) {
		snprintf(err, errlen, "port must be a number from 1 to 65535 (got '%.*s')",
			 (int)(n > 16 ? 16 : n), s);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

static bool host_bits_set(const uint8_t *a, int bytes, int prefix)
{
	for (int i = 0; i < bytes; i++) {
		int keep = prefix - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		if (a[i] & ~mask)
			return true;
	}
	return false;
}

static void clear_host_bits(uint8_t *a, int bytes, int prefix)
{
	for (int i = 0; i < bytes; i++) {
		int keep = prefix - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		a[i] &= mask;
	}
}

/* The address is [addr, addr+alen), the prefix text [pfx, pfx+plen) or
 * NULL for a single address. `bracket` tells how the suggestion in a
 * host-bits error is written. */
static int parse_cidr(struct pol_net_entry *e, int family, const char *addr, size_t alen,
		      const char *pfx, size_t plen, bool bracket, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 1], net[INET6_ADDRSTRLEN];
	int bits = family == AF_INET ? 32 : 128;
	const char *what = family == AF_INET ? "IPv4" : "IPv6";

	if (alen < sizeof(buf)) {
		memcpy(buf, addr, alen);
		buf[alen] = '\0';
	}
	if (alen >= sizeof(buf) || inet_pton(family, buf, e->addr) != 1) {
		snprintf(err, errlen, "'%.*s' is not a valid %s address",
			 (int)(alen > 64 ? 64 : alen), addr, what);
		return -EINVAL;
	}
	e->family = family;
	e->prefix = bits;
	if (pfx) {
		long v = parse_num(pfx, plen, 3);

		if (v < 0 || v > bits) {
			snprintf(err, errlen, "%s prefix length must be 0 to %d (got '/%.*s')",
				 what, bits, (int)(plen > 16 ? 16 : plen), pfx);
			return -EINVAL;
		}
		e->prefix = (int)v;
	}
	if (host_bits_set(e->addr, bits / 8, e->prefix)) {
		char port[8] = "";

		clear_host_bits(e->addr, bits / 8, e->prefix);
		inet_ntop(family, e->addr, net, sizeof(net));
		if (e->port)
			snprintf(port, sizeof(port), ":%u", e->port);
		snprintf(err, errlen, "host bits set in '%s'; did you mean %s%s%s/%d%s?", e->text,
			 bracket ? "[" : "", net, bracket ? "]" : "", e->prefix, port);
		return -EINVAL;
	}
	e->kind = POL_NET_CIDR;
	return 0;
}

/* "[addr]" "[addr]/p" "[addr]:port" "[addr]/p:port" */
static int parse_bracket(struct pol_net_entry *e, const char *t, char *err, size_t errlen)
{
	const char *close = strchr(t, ']'), *rest, *pfx = NULL, *colon;
	size_t plen = 0;
	int r;

	if (!close) {
		snprintf(err, errlen, "missing ']' in '%s' (write IPv6 with a port as [::1]:53)",
			 t);
		return -EINVAL;
	}
	rest = close + 1;
	colon = strchr(rest, ':');
	if (colon) {
		r = parse_port(colon + 1, strlen(colon + 1), &e->port, err, errlen);
		if (r < 0)
			return r;
	}
	if (*rest == '/') {
		pfx = rest + 1;
		plen = (size_t)((colon ? colon : rest + strlen(rest)) - pfx);
	} else if (rest != colon && *rest) {
		snprintf(err, errlen, "unexpected '%s' after ']' (expected /PREFIX or :PORT)",
			 rest);
		return -EINVAL;
	}
	if (memchr(t + 1, '.', (size_t)(close - t - 1)) &&
	    !memchr(t + 1, ':', (size_t)(close - t - 1))) {
		snprintf(err, errlen,
			 "brackets are for IPv6 addresses; write an IPv4 address "
			 "without them, e.g. 10.0.0.0/8:443");
		return -EINVAL;
	}
	return parse_cidr(e, AF_INET6, t + 1, (size_t)(close - t - 1), pfx, plen, true, err,
			  errlen);
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void bad_char(char ch, const char *text, char *err, size_t errlen)
{
	unsigned char c = (unsigned char)ch;
	char shown[16];

	if (c > ' ' && c < 0x7f)
		snprintf(shown, sizeof(shown), "'%c'", c);
	else
		snprintf(shown, sizeof(shown), "byte 0x%02x", c);
	snprintf(err, errlen,
		 "invalid character %s in domain '%s' (expected letters, digits, "
		 "'-', '_'; write non-ASCII names in punycode, xn--...)",
		 shown, text);
}

/* Checks and lower-cases the name in place. */
static int check_domain(char *d, const char *text, char *err, size_t errlen)
{
	size_t n = strlen(d), start = 0;

	if (n == 0 || n > DOMAIN_MAX) {
		snprintf(err, errlen, "domain name in '%s' must be 1 to %d characters", text,
			 DOMAIN_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] = (char)(d[i] - 'A' + 'a');
		if (i < n && d[i] != '.') {
			if (!label_char(d[i])) {
				bad_char(d[i], text, err, errlen);
				return -EINVAL;
			}
			continue;
		}
		size_t len = i - start;

		if (len == 0 || len > LABEL_MAX) {
			snprintf(err, errlen,
				 "every label of '%s' must be 1 to %d characters "
				 "(between dots)",
				 text, LABEL_MAX);
			return -EINVAL;
		}
		if (d[start] == '-' || d[i - 1] == '-') {
			snprintf(err, errlen, "a label of '%s' starts or ends with '-'", text);
			return -EINVAL;
		}
		start = i + 1;
	}
	return 0;
}

static int parse_domain(struct pol_net_entry *e, const char *host, size_t hlen, char *err,
			size_t errlen)
{
	bool wild = hlen >= 2 && host[0] == '*' && host[1] == '.';

	if (wild) {
		host += 2;
		hlen -= 2;
	}
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--; /* the root label: api.example.com. is api.example.com */
	if (memchr(host, '*', hlen)) {
		snprintf(err, errlen,
			 "'*' may only be the whole first label, as in *.example.com "
			 "(got '%s')",
			 e->text);
		return -EINVAL;
	}
	e->domain = strndup(host, hlen);
	if (!e->domain)
		return -ENOMEM;
	e->kind = wild ? POL_NET_WILDCARD : POL_NET_DOMAIN;
	return check_domain(e->domain, e->text, err, errlen);
}

/* Digits, dots and a slash only, with a digit first: 10.0.0.0/8. */
static bool looks_ipv4(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i] < '0' || s[i] > '9') && s[i] != '.' && s[i] != '/')
			return false;
	return n > 0 && s[0] >= '0' && s[0] <= '9';
}

static int parse_entry(struct pol_net_entry *e, const char *t, char *err, size_t errlen)
{
	const char *colon = strchr(t, ':'), *slash;
	size_t hlen = strlen(t);
	int r;

	if (!*t) {
		snprintf(err, errlen, "empty entry (expected a domain, *.domain or an address)");
		return -EINVAL;
	}
	if (strpbrk(t, " \t\r\n")) {
		snprintf(err, errlen, "'%s' contains white space", t);
		return -EINVAL;
	}
	if (t[0] == '[')
		return parse_bracket(e, t, err, errlen);
	if (colon && strchr(colon + 1, ':')) {
		/* Bare IPv6: no port possible, "::1:53" is an address. */
		slash = strchr(t, '/');
		return parse_cidr(e, AF_INET6, t, slash ? (size_t)(slash - t) : hlen,
				  slash ? slash + 1 : NULL, slash ? strlen(slash + 1) : 0, false,
				  err, errlen);
	}
	if (colon) {
		r = parse_port(colon + 1, strlen(colon + 1), &e->port, err, errlen);
		if (r < 0)
			return r;
		hlen = (size_t)(colon - t);
	}
	if (looks_ipv4(t, hlen)) {
		slash = memchr(t, '/', hlen);
		return parse_cidr(e, AF_INET, t, slash ? (size_t)(slash - t) : hlen,
				  slash ? slash + 1 : NULL,
				  slash ? (size_t)(t + hlen - slash - 1) : 0, false, err, errlen);
	}
	if (memchr(t, '/', hlen)) {
		snprintf(err, errlen, "'%s': a /PREFIX needs an IP address, not a name", t);
		return -EINVAL;
	}
	return parse_domain(e, t, hlen, err, errlen);
}

int pol_net_parse(const char *text, struct pol_net_entry *e, char *err, size_t errlen)
{
	int r;

	memset(e, 0, sizeof(*e));
	e->text = strdup(text);
	if (!e->text)
		return -ENOMEM;
	r = parse_entry(e, text, err, errlen);
	if (r < 0)
		pol_net_entry_clear(e);
	return r;
}
