/* sqli_detect: attacks that must be flagged (with the reading that
 * catches them where it matters), text that must not be, the tokenizer's
 * classes, and hostile inputs that must stay linear. */
#include <stdlib.h>
#include <time.h>

#include "sqli.h"
#include "sqli_lex.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *in;
	enum sqli_ctx ctx; /* SQLI_CTX_NONE: any */
} attacks[] = {
	/* tautologies */
	{ "1' OR '1'='1", SQLI_CTX_SQUOTE },
	{ "' OR 'a'='a", SQLI_CTX_SQUOTE },
	{ "x' or 'x'='x", SQLI_CTX_SQUOTE },
	{ "1' OR 1=1-- -", SQLI_CTX_SQUOTE },
	{ "1' OR 1 -- ", SQLI_CTX_SQUOTE },
	{ "1' AND '1'='1", SQLI_CTX_SQUOTE },
	{ "1' AND 'a' LIKE 'a", SQLI_CTX_SQUOTE },
	{ "1' OR username LIKE '%admin%'--", SQLI_CTX_SQUOTE },
	{ "1\" OR \"1\"=\"1", SQLI_CTX_DQUOTE },
	{ "1\") OR (\"a\"=\"a", SQLI_CTX_DQUOTE },
	{ "1 OR 1=1", SQLI_CTX_ASIS },
	{ "-1 OR 1=1", SQLI_CTX_ASIS },
	{ "1 OR 1 = 1", SQLI_CTX_ASIS },
	{ "1) OR (1=1", SQLI_CTX_ASIS },
	{ "1 || 1=1", SQLI_CTX_ASIS },
	{ "1' && 1=1-- -", SQLI_CTX_SQUOTE },
	{ "1 XOR 1=1", SQLI_CTX_ASIS },
	{ "1 AND 0x41=0x41", SQLI_CTX_ASIS },
	{ "1 AND 1.5e1=15", SQLI_CTX_ASIS },
	{ "1' AND NOT 1=2-- -", SQLI_CTX_SQUOTE },
	{ "1 AND @@version LIKE '5%'", SQLI_CTX_ASIS },
	{ "1%' AND 1=1 AND '%'='", SQLI_CTX_SQUOTE },
	/* comment truncation */
	{ "admin'--", SQLI_CTX_SQUOTE },
	{ "admin'#", SQLI_CTX_SQUOTE },
	{ "admin' -- x", SQLI_CTX_SQUOTE },
	{ "admin'/*", SQLI_CTX_SQUOTE },
	{ "admin\")-- -", SQLI_CTX_DQUOTE },
	/* a comment only some servers read ("--x": PostgreSQL, SQL Server,
	 * Oracle, SQLite; "#x": MySQL) after a complete injection */
	{ "1' OR 1=1 --x", SQLI_CTX_SQUOTE },
	{ "1' OR 1=1#x", SQLI_CTX_SQUOTE },
	{ "1 OR 1=1 --x", SQLI_CTX_ASIS },
	{ "1' UNION SELECT password FROM users--x", SQLI_CTX_SQUOTE },
	/* UNION */
	{ "1 AND 1=2 UNION SELECT username, password FROM users", SQLI_CTX_ASIS },
	{ "1' UNION SELECT NULL,NULL,NULL-- -", SQLI_CTX_SQUOTE },
	{ "1 UNION ALL SELECT 1,2,3#", SQLI_CTX_ASIS },
	{ "-1' UNION SELECT table_name FROM information_schema.tables-- -", SQLI_CTX_SQUOTE },
	{ "1' UNION (SELECT @@version)-- -", SQLI_CTX_SQUOTE },
	/* obfuscation: comments, case, blanks, versioned comments */
	{ "1'/**/UNION/**/SELECT/**/1,2-- -", SQLI_CTX_SQUOTE },
	{ "1' uNiOn SeLeCt 1,@@version-- -", SQLI_CTX_SQUOTE },
	{ "1\nOR\n1=1", SQLI_CTX_ASIS },
	{ "1\tUNION\tSELECT\t1", SQLI_CTX_ASIS },
	{ "1' /*!50000UNION*/ /*!SELECT*/ 1-- -", SQLI_CTX_SQUOTE },
	{ "1'/*x*/OR/*y*/1=1#", SQLI_CTX_SQUOTE },
	/* stacked */
	{ "1; DROP TABLE users--", SQLI_CTX_ASIS },
	{ "1'; DROP TABLE users; --", SQLI_CTX_SQUOTE },
	{ "1; EXEC xp_cmdshell('dir')--", SQLI_CTX_ASIS },
	{ "1'; EXEC master..xp_cmdshell 'ping 10.0.0.1'--", SQLI_CTX_SQUOTE },
	{ "1;SHUTDOWN--", SQLI_CTX_ASIS },
	{ "1'; INSERT INTO users VALUES ('x','y')--", SQLI_CTX_SQUOTE },
	{ "1'; UPDATE users SET role='admin'--", SQLI_CTX_SQUOTE },
	{ "1;DECLARE @x CHAR(9);SET @x=0x303a303a35;WAITFOR DELAY @x--", SQLI_CTX_ASIS },
	{ "1';SELECT * FROM users--", SQLI_CTX_SQUOTE },
	{ "1';CREATE OR REPLACE FUNCTION f() RETURNS int AS 'x' LANGUAGE sql", SQLI_CTX_SQUOTE },
	/* blind: time */
	{ "1' AND SLEEP(5)-- -", SQLI_CTX_SQUOTE },
	{ "1 AND SLEEP(5)", SQLI_CTX_ASIS },
	{ "1 RLIKE SLEEP(5)", SQLI_CTX_ASIS },
	{ "SLEEP(5)", SQLI_CTX_ASIS },
	{ "1' AND (SELECT 1 FROM (SELECT SLEEP(5))x)-- -", SQLI_CTX_SQUOTE },
	{ "1 AND BENCHMARK(5000000,MD5('a'))", SQLI_CTX_ASIS },
	{ "1'; SELECT pg_sleep(5)--", SQLI_CTX_SQUOTE },
	{ "1' AND 1=(SELECT 1 FROM pg_sleep(5))--", SQLI_CTX_SQUOTE },
	{ "1; WAITFOR DELAY '0:0:5'--", SQLI_CTX_ASIS },
	{ "1' WAITFOR DELAY '0:0:5'--", SQLI_CTX_SQUOTE },
	{ "1'; IF(1=1) WAITFOR DELAY '0:0:5'--", SQLI_CTX_SQUOTE },
	{ "1' AND 1=DBMS_PIPE.RECEIVE_MESSAGE('a',5)--", SQLI_CTX_SQUOTE },
	{ "1;BEGIN DBMS_LOCK.SLEEP(5); END", SQLI_CTX_ASIS },
	{ "IF(1=1,SLEEP(5),0)", SQLI_CTX_ASIS },
	/* blind: boolean */
	{ "1 AND ASCII(SUBSTRING((SELECT password FROM users LIMIT 1),1,1))>64", SQLI_CTX_ASIS },
	{ "(SELECT CASE WHEN (1=1) THEN 1 ELSE 0 END)", SQLI_CTX_ASIS },
	{ "(CASE WHEN 1=1 THEN 1 ELSE 0 END)", SQLI_CTX_ASIS },
	{ "1 RLIKE (SELECT (CASE WHEN (1=1) THEN 1 ELSE 0x28 END))", SQLI_CTX_ASIS },
	{ "1 AND (SELECT COUNT(*) FROM users)>0", SQLI_CTX_ASIS },
	{ "1' AND EXISTS(SELECT * FROM users)-- -", SQLI_CTX_SQUOTE },
	{ "1 AND MAKE_SET(1=1,1)", SQLI_CTX_ASIS },
	{ "1 HAVING 1=1-- x", SQLI_CTX_ASIS },
	{ "1' ORDER BY 10#", SQLI_CTX_SQUOTE },
	{ "1 ORDER BY 3-- -", SQLI_CTX_ASIS },
	{ "1' GROUP BY 1-- x", SQLI_CTX_SQUOTE },
	/* error-based, per DBMS */
	{ "1' AND extractvalue(1,concat(0x7e,version()))-- -", SQLI_CTX_SQUOTE },
	{ "1' AND updatexml(1,concat(0x7e,(SELECT user())),1)-- -", SQLI_CTX_SQUOTE },
	{ "1 AND 1=CONVERT(int,(SELECT @@version))", SQLI_CTX_ASIS },
	{ "1' AND 1=CAST((SELECT version()) AS int)--", SQLI_CTX_SQUOTE },
	{ "1' AND 1=utl_inaddr.get_host_name((SELECT user FROM dual))--", SQLI_CTX_SQUOTE },
	{ "1 PROCEDURE ANALYSE(EXTRACTVALUE(1,CONCAT(0x5c,version())),1)", SQLI_CTX_ASIS },
	{ "1' AND 1=CTXSYS.DRITHSX.SN(1,(SELECT user FROM dual))--", SQLI_CTX_SQUOTE },
	/* sub-selects and the rest */
	{ "1'||(SELECT 'a' FROM dual WHERE 1=1)||'", SQLI_CTX_SQUOTE },
	{ "1' INTO OUTFILE '/tmp/x'-- -", SQLI_CTX_SQUOTE },
	{ "(SELECT 1234 FROM (SELECT(SLEEP(5)))abcd)", SQLI_CTX_ASIS },
	{ "1,(SELECT 1 FROM users)", SQLI_CTX_ASIS },
	{ "x` WHERE 1=1 UNION SELECT 1-- -", SQLI_CTX_BTICK },
	{ "1] UNION SELECT 1-- -", SQLI_CTX_BRACKET },
};

static const char *const benign[] = {
	/* an option or an anchor after a quote: no server cuts there */
	"gcloud run 'svc' --force",
	"name' --strict",
	"see 'usage' #usage",
	/* prose the brief names */
	"select the items from the list",
	"O'Reilly's",
	"don't -- really",
	"1 or 2 items",
	"Tom & Jerry; or not",
	/* apostrophes, quotes, dashes */
	"It's 5 o'clock; or is it?",
	"Rock 'n' roll",
	"I said 'yes' -- really",
	"Mr. O'Neil said: 'OK; fine'",
	"It's 6' tall",
	"5' 10\"",
	"Don't stop believin'",
	"'Tis the season",
	"Mary's lamb and John's goat",
	"\"quoted\" or \"not\"",
	"He said \"hi\" -- then left",
	"The 'or' operator and the 'and' operator",
	"naïve café 'résumé' -- ok",
	"a--b",
	"--verbose --dry-run '--strict'",
	"see the \"#usage\" section",
	"#hashtag -- note",
	/* SQL words in English */
	"Select all that apply",
	"Please select one option from the menu",
	"the union select committee met on Monday",
	"Drop me a line; I'll be there",
	"Update your profile; delete old posts",
	"Order by phone or email",
	"sleep tight",
	"I can't sleep (5 hours)",
	"3 and 4 = 7 days",
	"a = b and c = d",
	"Dry-run; do not actually write blocks",
	"behaviour; if it is specified, nothing happens",
	"(1) If callback is NULL and data is NULL, stop",
	"5. ORDER BY works on subselects",
	/* data */
	"john.o'connor@example.com",
	"https://example.com/search?q=a&b=1#top",
	"{\"name\": \"O'Brien\", \"age\": 42}",
	"[1, 2, 3]",
	"2024-01-02",
	"2024-01-02T10:00:00Z",
	"-42",
	"3.14159",
	"1e10",
	"0x1F",
	"+1 (555) 123-4567",
	"C:\\Program Files\\App",
	"",
	"     ",
	/* code-ish */
	"if (x == 1) { return; }",
	"if (spec != 'd' && spec != 's')",
	"rm -rf /tmp/x; ls",
	"x; y; z",
	"sleep(5);",
	"printf(\"# of blocks: %d\\n\", n);",
	/* whole statements are no break-out */
	"SELECT * FROM users",
	"SELECT CAST(42 AS float8);",
};

/* Flagged although harmless: they read exactly like an attack, and no
 * tokenizer can tell them apart (tests/bench/sqli_rates.py counts such
 * lines among its false positives). */
static const char *const accepted[] = {
	"students' -- all of them", /* admin' -- x */
	"3 and 4 = 7",              /* 1 AND 1=1 */
};

UNIT_SUITE(sqli_accepted)
{
	for (size_t i = 0; i < N(accepted); i++)
		CHECK_MSG(sqli_detect(accepted[i], strlen(accepted[i]), NULL), accepted[i]);
}

UNIT_SUITE(sqli_attacks)
{
	char d[512];

	for (size_t i = 0; i < N(attacks); i++) {
		struct sqli_result r;
		bool got = sqli_detect(attacks[i].in, strlen(attacks[i].in), &r);

		snprintf(d, sizeof(d), "'%s': got %d ctx %s fp %s", attacks[i].in, got,
			 sqli_ctx_name(r.ctx), r.fingerprint);
		CHECK_MSG(got, d);
		if (!got)
			continue;
		CHECK_MSG(attacks[i].ctx == SQLI_CTX_NONE || r.ctx == attacks[i].ctx, d);
		CHECK_MSG(r.reason != NULL && r.fingerprint[0] != '\0', d);
		CHECK_MSG(r.offset < strlen(attacks[i].in), d);
	}
}

UNIT_SUITE(sqli_benign)
{
	char d[512];

	for (size_t i = 0; i < N(benign); i++) {
		struct sqli_result r;
		bool got = sqli_detect(benign[i], strlen(benign[i]), &r);

		snprintf(d, sizeof(d), "'%s': flagged %s %s (%s)", benign[i], sqli_ctx_name(r.ctx),
			 r.fingerprint, r.reason ? r.reason : "");
		CHECK_MSG(!got, d);
		CHECK_MSG(got || (r.ctx == SQLI_CTX_NONE && r.reason == NULL), d);
	}
	CHECK(!sqli_detect(NULL, 0, NULL));
	CHECK(!sqli_detect(NULL, 5, NULL));
	/* the length is what counts: a NUL does not end the value, and it
	 * separates tokens as a blank does (a decoded %00 between words) */
	CHECK(sqli_detect("1 \0 OR 1=1", sizeof "1 \0 OR 1=1" - 1, NULL));
	CHECK(sqli_detect("x\0' OR 1=1-- -", sizeof "x\0' OR 1=1-- -" - 1, NULL));
	CHECK(sqli_detect("1'\0OR\0001=1--", sizeof "1'\0OR\0001=1--" - 1, NULL));
	CHECK(sqli_detect("1\0UNION\0SELECT\0password\0FROM\0users",
			  sizeof "1\0UNION\0SELECT\0password\0FROM\0users" - 1, NULL));
	CHECK(sqli_detect("x'\0or\0'a'='a", sizeof "x'\0or\0'a'='a" - 1, NULL));
	CHECK(!sqli_detect("it's\0fine", sizeof "it's\0fine" - 1, NULL));
	CHECK(!sqli_detect("1' OR 1=1-- -", 1, NULL));
}

static void lex_classes(const char *in, char vquote, char *out, size_t max)
{
	struct sqli_lex lx;
	struct sqli_tok t;
	size_t n = 0;

	sqli_lex_init(&lx, in, strlen(in), vquote);
	while (n + 1 < max && sqli_lex_next(&lx, &t))
		out[n++] = t.type == SQLI_T_STR && t.unterminated ? 'S' : t.type;
	out[n] = '\0';
}

UNIT_SUITE(sqli_lexer)
{
	static const struct {
		const char *in;
		char vquote;
		const char *want;
	} cases[] = {
		{ "1 AND 'a''b'=x", 0, "nkso b" },
		{ "0x1f 1.5e3 .5 1e+9 0b101", 0, "nnnnn" },
		{ "@@version @x @", 0, "vvv" },
		{ "`a b` [c d] N'x' x'41' E'\\n'", 0, "bbsss" },
		{ "a -- c\nb # d\nc", 0, "bcbcb" },
		{ "a /* c */ b /* open", 0, "bbc" },
		{ "/*!50000SELECT*/ 1", 0, "kn" },
		{ "'it\\'s' \"q\"\"q\"", 0, "ss" },
		{ "'open", 0, "S" },
		{ "x.y.z(1) end.", 0, "b(n)kx" },
		{ "<=> != <> :: := || && - ~", 0, "ooooo&&oo" },
		{ "(),;", 0, "(),;" },
		{ "? { } \\ $ :", 0, "xxxxxx" },
		{ "abc' OR 1", '\'', "skn" },
		{ "abc OR 1", '\'', "S" },
		{ "a]b", '[', "sb" },
		/* words across the lexer's 16-byte steps, ended by each kind */
		{ "abcdefghijklmno OR 1", 0, "bkn" },
		{ "abcdefghijklmnop OR 1", 0, "bkn" },
		{ "abcdefghijklmnopq(1)", 0, "b(n)" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'x'", 0, "bs" },
		{ "abcdefghijklmnopqrstuvwxyzabcdef-- c", 0, "bc" },
		{ "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t end.", 0, "bkx" },
		{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 OR 1",
		  0, "bkn" },
		{ "SELECTSELECTSELECTSELECTSELECTSELECT", 0, "b" },
	};
	char got[64], d[256];

	for (size_t i = 0; i < N(cases); i++) {
		lex_classes(cases[i].in, cases[i].vquote, got, sizeof(got));
		/* the table writes a blank where the harness cannot: ignore it */
		char want[64];
		size_t w = 0;

		for (const char *p = cases[i].want; *p && w + 1 < sizeof(want); p++)
			if (*p != ' ')
				want[w++] = *p;
		want[w] = '\0';
		snprintf(d, sizeof(d), "'%s'", cases[i].in);
		CHECK_MSG(strcmp(got, want) == 0, d);
		if (strcmp(got, want) != 0)
			CHECK_STR(got, want);
	}
}

UNIT_SUITE(sqli_keywords)
{
	size_t n;
	const struct sqli_kw *kw = sqli_kw_table(&n);

	CHECK(n > 100);
	for (size_t i = 0; i < n; i++) {
		CHECK_MSG(i == 0 || strcmp(kw[i - 1].name, kw[i].name) < 0, kw[i].name);
		CHECK_MSG(sqli_kw_find(kw[i].name, strlen(kw[i].name)) == &kw[i], kw[i].name);
	}
	CHECK(sqli_kw_find("select", 6) != NULL);
	CHECK(sqli_kw_find("SeLeCt", 6) != NULL);
	CHECK(sqli_kw_find("selects", 7) == NULL);
	CHECK(sqli_kw_find("selec", 5) == NULL);
	CHECK(sqli_kw_find("", 0) == NULL);
	CHECK(sqli_kw_find("dbms_pipe.receive_message", 25) != NULL);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Megabytes of what the judge finds hardest: it must stay linear. */
UNIT_SUITE(sqli_hostile)
{
	static const char *const units[] = { "(", "'",   "1 AND ",   "/*",      "a ",
					     "@", "\\'", "-- \n",    "1=1 OR ", "`",
					     "]", "/*!", "((SELECT " };
	size_t len = 4u << 20;
	char *buf = malloc(len);
	char d[128];

	if (!buf) {
		CHECK(buf != NULL);
		return;
	}
	for (size_t u = 0; u < N(units); u++) {
		size_t ul = strlen(units[u]);
		struct timespec t0;

		for (size_t i = 0; i < len; i++)
			buf[i] = units[u][i % ul];
		clock_gettime(CLOCK_MONOTONIC, &t0);
		(void)sqli_detect(buf, len, NULL);
		double ms = ms_since(&t0);

		snprintf(d, sizeof(d), "'%s' x 4 MiB: %.0f ms", units[u], ms);
		CHECK_MSG(ms < 2000, d);
	}
	free(buf);
}
