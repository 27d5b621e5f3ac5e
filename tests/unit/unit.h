/* Minimal table-friendly unit test harness. Each test file declares
 * suites with UNIT_SUITE(name) { ... } and checks with CHECK/CHECK_STR;
 * suites register themselves, main.c runs them all and prints
 * "unit: N passed, N failed". */
#ifndef FNG_UNIT_H
#define FNG_UNIT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void unit_register(const char *name, void (*fn)(void));
void unit_check(bool ok, const char *file, int line, const char *expr, const char *detail);

#define UNIT_SUITE(name)                                               \
	static void name(void);                                        \
	__attribute__((constructor)) static void unit_reg_##name(void) \
	{                                                              \
		unit_register(#name, name);                            \
	}                                                              \
	static void name(void)

#define CHECK(cond)             unit_check((cond), __FILE__, __LINE__, #cond, NULL)
#define CHECK_MSG(cond, detail) unit_check((cond), __FILE__, __LINE__, #cond, (detail))
#define CHECK_STR(a, b)                                                                    \
	do {                                                                               \
		const char *ua_ = (a), *ub_ = (b);                                         \
		bool ueq_ = (ua_ == NULL && ub_ == NULL) ||                                \
			    (ua_ != NULL && ub_ != NULL && strcmp(ua_, ub_) == 0);         \
		char ud_[512];                                                             \
		snprintf(ud_, sizeof ud_, "got \"%s\", want \"%s\"", ua_ ? ua_ : "(null)", \
			 ub_ ? ub_ : "(null)");                                            \
		unit_check(ueq_, __FILE__, __LINE__, #a " == " #b, ud_);                   \
	} while (0)

#endif
