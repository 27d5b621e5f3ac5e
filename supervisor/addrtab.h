/* Addresses the DNS stub learned for allowed names: which rule allowed
 * the name, until when. Connects to such an address are allowed on the
 * rule's ports and logged with the name as `domain`. */
#ifndef FNG_ADDRTAB_H
#define FNG_ADDRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct addrtab;

struct addrtab *addrtab_new(void);
void addrtab_free(struct addrtab *t); /* accepts NULL */

/* Records that addr (normalised, port ignored) answered `name`, allowed
 * by allow entry `rule` (index into network.allow), until `expires_ms`
 * (monotonic). A later answer for the same address and rule extends it.
 * 0 or -ENOMEM. The name is copied. */
int addrtab_add(struct addrtab *t, const struct pol_addr *addr, const char *name, size_t rule,
		int64_t expires_ms);

/* Finds a live record for addr whose rule allows the port; returns its
 * name (valid until the next add or expire) and sets *rule, or NULL. */
const char *addrtab_lookup(struct addrtab *t, const struct pol_network *net,
			   const struct pol_addr *addr, int64_t now_ms, size_t *rule);

/* Any live record for addr, whatever the port: for attributing a
 * refused connect to the name that resolved to it. */
const char *addrtab_name(struct addrtab *t, const struct pol_addr *addr, int64_t now_ms);

/* True when a live record with a real rule (not a name-only record)
 * exists for addr, whatever the port. */
bool addrtab_any(struct addrtab *t, const struct pol_addr *addr, int64_t now_ms);

/* The rule index of name-only records: addresses of names answered while
 * no rule allowed them (audit), kept to attribute refused connects. */
#define ADDRTAB_NO_RULE ((size_t)-1)

/* Drops records expired before now_ms. */
void addrtab_expire(struct addrtab *t, int64_t now_ms);

size_t addrtab_count(const struct addrtab *t);

#endif
