/*
 * test_log.c -- log.c: the in-memory log (ring buffer, truncation,
 * compaction, slices, fast-backup searches).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static struct raft_entry mk(raft_index index, raft_term term, const char *s)
{
	struct raft_entry e;
	memset(&e, 0, sizeof(e));
	e.index = index;
	e.term = term;
	e.type = RAFT_ENTRY_NORMAL;
	e.data = s;
	e.len = s ? strlen(s) : 0;
	return e;
}

static int setup(void **state)
{
	struct raft_log *l = malloc(sizeof(*l));
	log_init(l);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	struct raft_log *l = *state;
	log_close(l);
	free(l);
	return 0;
}

static void append_one(struct raft_log *l, raft_term term, const char *s)
{
	struct raft_entry e = mk(log_last_index(l) + 1, term, s);
	assert_int_equal(log_append(l, &e, 1), 0);
}

static void test_empty(void **state)
{
	struct raft_log *l = *state;
	raft_term t = 99;
	assert_int_equal(log_first_index(l), 1);
	assert_int_equal(log_last_index(l), 0);
	assert_int_equal(log_last_term(l), 0);
	assert_true(log_term_at(l, 0, &t));
	assert_int_equal(t, 0);
	assert_false(log_term_at(l, 1, &t));
	assert_null(log_get(l, 1));
}

static void test_append_and_read(void **state)
{
	struct raft_log *l = *state;
	char buf[32];
	for (int k = 1; k <= 100; k++) {
		snprintf(buf, sizeof(buf), "e%d", k);
		append_one(l, (raft_term)(k / 10 + 1), buf);
	}
	assert_int_equal(log_last_index(l), 100);
	assert_int_equal(log_last_term(l), 11);
	const struct raft_entry *e = log_get(l, 57);
	assert_non_null(e);
	assert_int_equal(e->index, 57);
	assert_int_equal(e->term, 6);
	assert_int_equal(e->len, 3);
	assert_memory_equal(e->data, "e57", 3);
	raft_term t;
	assert_true(log_term_at(l, 100, &t));
	assert_int_equal(t, 11);
	assert_false(log_term_at(l, 101, &t));
	/* data is a private copy */
	assert_ptr_not_equal(e->data, buf);
}

static void test_empty_entries_have_null_data(void **state)
{
	struct raft_log *l = *state;
	struct raft_entry e = mk(1, 1, NULL);
	e.type = RAFT_ENTRY_NOOP;
	assert_int_equal(log_append(l, &e, 1), 0);
	assert_null(log_get(l, 1)->data);
	assert_int_equal(log_get(l, 1)->type, RAFT_ENTRY_NOOP);
}

static void test_truncate(void **state)
{
	struct raft_log *l = *state;
	for (int k = 0; k < 10; k++)
		append_one(l, 1, "x");
	log_truncate(l, 6);
	assert_int_equal(log_last_index(l), 5);
	log_truncate(l, 100); /* nothing there */
	assert_int_equal(log_last_index(l), 5);
	log_truncate(l, 1);
	assert_int_equal(log_last_index(l), 0);
}

static void test_append_replaces_conflicting_suffix(void **state)
{
	struct raft_log *l = *state;
	for (int k = 0; k < 10; k++)
		append_one(l, 1, "old");
	struct raft_entry e[3] = {mk(6, 2, "n6"), mk(7, 2, "n7"),
	                          mk(8, 2, "n8")};
	assert_int_equal(log_append(l, e, 3), 0);
	assert_int_equal(log_last_index(l), 8);
	assert_int_equal(log_get(l, 5)->term, 1);
	assert_int_equal(log_get(l, 6)->term, 2);
	assert_memory_equal(log_get(l, 8)->data, "n8", 2);
}

static void test_compact_and_wrap(void **state)
{
	struct raft_log *l = *state;
	/* Fill, compact from the front, keep appending: the ring wraps and
	 * then grows while wrapped. */
	for (int k = 1; k <= 12; k++)
		append_one(l, 1, "a");
	log_compact(l, 10);
	assert_int_equal(log_first_index(l), 11);
	assert_int_equal(log_last_index(l), 12);
	raft_term t;
	assert_true(log_term_at(l, 10, &t)); /* compaction point */
	assert_int_equal(t, 1);
	assert_false(log_term_at(l, 9, &t));
	assert_null(log_get(l, 10));
	char buf[16];
	for (int k = 13; k <= 200; k++) {
		snprintf(buf, sizeof(buf), "%d", k);
		append_one(l, k < 100 ? 1 : 2, buf);
	}
	for (int k = 11; k <= 200; k++) {
		const struct raft_entry *e = log_get(l, (raft_index)k);
		assert_non_null(e);
		assert_int_equal(e->index, k);
		if (k >= 13) {
			snprintf(buf, sizeof(buf), "%d", k);
			assert_int_equal(e->len, strlen(buf));
			assert_memory_equal(e->data, buf, e->len);
		}
	}
	log_compact(l, 150);
	assert_int_equal(log_first_index(l), 151);
	assert_true(log_term_at(l, 150, &t));
	assert_int_equal(t, 2);
	/* compacting below the point is a no-op */
	log_compact(l, 100);
	assert_int_equal(log_first_index(l), 151);
}

static void test_reset(void **state)
{
	struct raft_log *l = *state;
	for (int k = 0; k < 5; k++)
		append_one(l, 1, "a");
	log_reset(l, 40, 3);
	assert_int_equal(log_first_index(l), 41);
	assert_int_equal(log_last_index(l), 40);
	assert_int_equal(log_last_term(l), 3);
	append_one(l, 3, "b");
	assert_int_equal(log_last_index(l), 41);
}

static void test_slices(void **state)
{
	struct raft_log *l = *state;
	append_one(l, 1, "aaaa");          /* 1: 4 bytes */
	append_one(l, 1, "bbbbbbbbbbbb"); /* 2: 12 bytes */
	append_one(l, 1, "cc");           /* 3: 2 bytes */
	append_one(l, 1, "dd");           /* 4: 2 bytes */
	size_t bytes;
	assert_int_equal(log_slice_count(l, 1, 10, 1000, &bytes), 4);
	assert_int_equal(bytes, 20);
	assert_int_equal(log_slice_count(l, 1, 2, 1000, &bytes), 2);
	assert_int_equal(bytes, 16);
	assert_int_equal(log_slice_count(l, 1, 10, 10, &bytes), 1);
	assert_int_equal(bytes, 4);
	/* a single bigger entry still goes alone */
	assert_int_equal(log_slice_count(l, 2, 10, 5, &bytes), 1);
	assert_int_equal(bytes, 12);
	assert_int_equal(log_slice_count(l, 5, 10, 10, &bytes), 0);

	struct raft_entry out[3];
	unsigned char data[64];
	size_t used = log_copy(l, 2, 3, out, data);
	assert_int_equal(used, 16);
	assert_int_equal(out[0].index, 2);
	assert_memory_equal(out[1].data, "cc", 2);
	assert_ptr_equal(out[0].data, data);
}

static void test_term_searches(void **state)
{
	struct raft_log *l = *state;
	/* terms: 1 1 1 3 3 5 5 5 5 (indexes 1..9) */
	raft_term terms[] = {1, 1, 1, 3, 3, 5, 5, 5, 5};
	for (int k = 0; k < 9; k++)
		append_one(l, terms[k], "z");
	assert_int_equal(log_first_of_term(l, 9), 6);
	assert_int_equal(log_first_of_term(l, 5), 4);
	assert_int_equal(log_first_of_term(l, 2), 1);
	raft_index i;
	assert_true(log_last_at_most_term(l, 3, 9, &i));
	assert_int_equal(i, 5);
	assert_true(log_last_at_most_term(l, 4, 9, &i));
	assert_int_equal(i, 5);
	assert_true(log_last_at_most_term(l, 5, 7, &i));
	assert_int_equal(i, 7);
	assert_true(log_last_at_most_term(l, 1, 9, &i));
	assert_int_equal(i, 3);
	assert_true(log_last_at_most_term(l, 0, 9, &i));
	assert_int_equal(i, 0); /* the empty prefix, term 0 */
	log_compact(l, 4);
	assert_true(log_last_at_most_term(l, 3, 9, &i));
	assert_int_equal(i, 5);
	assert_false(log_last_at_most_term(l, 1, 9, &i));
	assert_int_equal(log_first_of_term(l, 5), 5); /* bounded by offset */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_and_read, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
			test_empty_entries_have_null_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_append_replaces_conflicting_suffix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact_and_wrap, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_term_searches, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
