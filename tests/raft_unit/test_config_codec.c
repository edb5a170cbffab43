/*
 * test_config_codec.c -- config_codec.c: the versioned little-endian
 * configuration format and its validation on decode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "raft.h"

static struct raft_config sample(void)
{
	struct raft_config c;
	memset(&c, 0, sizeof(c));
	c.n = 3;
	for (unsigned k = 0; k < 3; k++) {
		c.servers[k].id = 100 + k;
		c.servers[k].role = k == 2 ? RAFT_NONVOTER : RAFT_VOTER;
		snprintf(c.servers[k].address, RAFT_ADDRESS_MAX, "node%u:70%02u",
		         k, k);
	}
	return c;
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct raft_config c = sample(), d;
	unsigned char buf[1024];
	size_t need = raft_config_encode(&c, NULL, 0);
	assert_true(need > 6);
	assert_int_equal(raft_config_encode(&c, buf, sizeof(buf)), need);
	memset(&d, 0xab, sizeof(d));
	assert_int_equal(raft_config_decode(buf, need, &d), RAFT_OK);
	assert_int_equal(d.n, 3);
	for (unsigned k = 0; k < 3; k++) {
		assert_int_equal(d.servers[k].id, c.servers[k].id);
		assert_int_equal(d.servers[k].role, c.servers[k].role);
		assert_string_equal(d.servers[k].address, c.servers[k].address);
	}
	/* little endian, versioned */
	assert_int_equal(buf[0], 'R');
	assert_int_equal(buf[1], 'C');
	assert_int_equal(buf[4], 1);
	assert_int_equal(buf[5], 3);
	assert_int_equal(buf[6], 100); /* low byte of the first id */
	assert_int_equal(buf[7], 0);
}

static void test_small_buffer_writes_nothing(void **state)
{
	(void)state;
	struct raft_config c = sample();
	unsigned char buf[16];
	memset(buf, 0x5a, sizeof(buf));
	size_t need = raft_config_encode(&c, buf, sizeof(buf));
	assert_true(need > sizeof(buf));
	for (size_t k = 0; k < sizeof(buf); k++)
		assert_int_equal(buf[k], 0x5a);
}

static void test_empty_and_full(void **state)
{
	(void)state;
	struct raft_config c, d;
	memset(&c, 0, sizeof(c));
	unsigned char buf[2048];
	size_t n = raft_config_encode(&c, buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_int_equal(raft_config_decode(buf, n, &d), RAFT_OK);
	assert_int_equal(d.n, 0);

	c.n = RAFT_MAX_SERVERS;
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++) {
		c.servers[k].id = k + 1;
		c.servers[k].role = RAFT_VOTER;
		memset(c.servers[k].address, 'a', RAFT_ADDRESS_MAX - 1);
	}
	n = raft_config_encode(&c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(raft_config_decode(buf, n, &d), RAFT_OK);
	assert_int_equal(d.n, RAFT_MAX_SERVERS);
	assert_int_equal(strlen(d.servers[15].address), RAFT_ADDRESS_MAX - 1);
}

static void test_invalid_configs_do_not_encode(void **state)
{
	(void)state;
	struct raft_config c = sample();
	unsigned char buf[1024];
	c.servers[1].id = 0;
	assert_int_equal(raft_config_encode(&c, buf, sizeof(buf)), 0);
	c = sample();
	c.servers[1].id = c.servers[0].id;
	assert_int_equal(raft_config_encode(&c, buf, sizeof(buf)), 0);
	c = sample();
	c.servers[0].role = 7;
	assert_int_equal(raft_config_encode(&c, buf, sizeof(buf)), 0);
	c = sample();
	c.n = RAFT_MAX_SERVERS + 1;
	assert_int_equal(raft_config_encode(&c, buf, sizeof(buf)), 0);
}

static void test_corrupt_inputs(void **state)
{
	(void)state;
	struct raft_config c = sample(), d;
	unsigned char buf[1024], bad[1024];
	size_t n = raft_config_encode(&c, buf, sizeof(buf));

	assert_int_equal(raft_config_decode(NULL, 0, &d), RAFT_ECORRUPT);
	assert_int_equal(raft_config_decode(buf, 5, &d), RAFT_ECORRUPT);
	/* every truncation fails */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(raft_config_decode(buf, k, &d), RAFT_ECORRUPT);
	/* trailing bytes */
	memcpy(bad, buf, n);
	bad[n] = 0;
	assert_int_equal(raft_config_decode(bad, n + 1, &d), RAFT_ECORRUPT);
	/* magic, version, count */
	memcpy(bad, buf, n);
	bad[0] ^= 1;
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	memcpy(bad, buf, n);
	bad[4] = 2;
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	memcpy(bad, buf, n);
	bad[5] = RAFT_MAX_SERVERS + 1;
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	/* id 0 */
	memcpy(bad, buf, n);
	memset(bad + 6, 0, 8);
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	/* duplicate id */
	memcpy(bad, buf, n);
	size_t second = 6 + 10 + buf[6 + 9];
	memcpy(bad + second, bad + 6, 8);
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	/* unknown role */
	memcpy(bad, buf, n);
	bad[6 + 8] = 9;
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	/* NUL inside an address */
	memcpy(bad, buf, n);
	bad[6 + 10] = 0;
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	/* address length too long for the struct */
	memcpy(bad, buf, n);
	bad[6 + 9] = RAFT_ADDRESS_MAX;
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	/* a failed decode leaves *out alone; NULL out only validates */
	memset(&d, 0x11, sizeof(d));
	bad[0] = 0;
	assert_int_equal(raft_config_decode(bad, n, &d), RAFT_ECORRUPT);
	assert_int_equal(d.n, 0x11111111u);
	assert_int_equal(raft_config_decode(buf, n, NULL), RAFT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_small_buffer_writes_nothing),
		cmocka_unit_test(test_empty_and_full),
		cmocka_unit_test(test_invalid_configs_do_not_encode),
		cmocka_unit_test(test_corrupt_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
