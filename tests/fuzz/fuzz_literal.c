/* libFuzzer target for the literal prefilter (rules/literal.c). The input
 * is a pattern, a newline, then a subject. Whatever the pattern, the
 * extraction must not crash; when it yields strings and PCRE2 compiles
 * the pattern, every match PCRE2 finds at any start in the subject must
 * have the property the scan relies on: for LINE, no '\n' and one of the
 * strings inside it; for PREFIX, one of the strings at its start. A
 * violation is a prefilter that would drop a true match. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "literal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The subject is kept short: every start is tried, anchored. */
#define SUBJECT_MAX 512

static bool holds(const struct rules_lits *l, enum rules_lit_mode mode, const char *m, size_t n)
{
	if (mode == RULES_LIT_LINE && memchr(m, '\n', n))
		return false;
	for (size_t i = 0; i < l->n; i++) {
		if (l->len[i] < 2 || l->len[i] > n)
			continue;
		if (mode == RULES_LIT_PREFIX ? !memcmp(m, l->s[i], l->len[i])
					     : memmem(m, n, l->s[i], l->len[i]) != NULL)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : size;
	const char *subject = nl ? (const char *)nl + 1 : "";
	size_t slen = nl ? size - plen - 1 : 0;
	char *pattern = malloc(plen + 1);
	struct rules_lits l;
	enum rules_lit_mode mode;

	if (!pattern)
		return 0;
	memcpy(pattern, data, plen);
	pattern[plen] = '\0';
	mode = rules_literals(pattern, &l);
	if (mode != RULES_LIT_NONE) {
		for (size_t i = 0; i < l.n; i++)
			if (l.len[i] < 2 || l.len[i] > RULES_LIT_LEN)
				abort();
	}
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = mode == RULES_LIT_NONE || strlen(pattern) != plen
				 ? NULL
				 : pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
						 PCRE2_MULTILINE, &code, &off, NULL);
	if (re) {
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);
		pcre2_match_context *mc = pcre2_match_context_create(NULL);
		PCRE2_SIZE *ov = md ? pcre2_get_ovector_pointer(md) : NULL;

		if (slen > SUBJECT_MAX)
			slen = SUBJECT_MAX;
		if (mc)
			pcre2_set_match_limit(mc, 100000);
		for (size_t s = 0; md && mc && s <= slen; s++) {
			if (pcre2_match(re, (PCRE2_SPTR)subject, slen, s, PCRE2_ANCHORED, md, mc) <
			    0)
				continue;
			if (ov[1] >= ov[0] && !holds(&l, mode, subject + ov[0], ov[1] - ov[0]))
				abort();
		}
		pcre2_match_context_free(mc);
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	free(pattern);
	return 0;
}
