/*
 * test_sha256.c -- SHA-256 against FIPS 180-2 appendix B vectors and a
 * million 'a's fed in odd-sized pieces; HMAC-SHA256 against RFC 4231.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"
#include "util.h"

static void assert_hex(const uint8_t *d, const char *want)
{
	char got[2 * LMS_SHA256_LEN + 1];
	lms_hex_encode(d, LMS_SHA256_LEN, got);
	assert_string_equal(got, want);
}

static void test_sha256_vectors(void **state)
{
	uint8_t d[LMS_SHA256_LEN];
	lms_sha256("", 0, d);
	assert_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	lms_sha256("abc", 3, d);
	assert_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	lms_sha256(m, strlen(m), d);
	assert_hex(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_million_a_in_pieces(void **state)
{
	static uint8_t a[1000];
	memset(a, 'a', sizeof a);
	struct lms_sha256 c;
	lms_sha256_init(&c);
	size_t done = 0, step = 1;
	while (done < 1000000) {
		size_t n = step < 1000000 - done ? step : 1000000 - done;
		if (n > sizeof a)
			n = sizeof a;
		lms_sha256_update(&c, a, n);
		done += n;
		step = step * 7 % 997 + 1; /* odd sizes across block edges */
	}
	uint8_t d[LMS_SHA256_LEN];
	lms_sha256_final(&c, d);
	assert_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_padding_edges(void **state)
{
	/* 55, 56, 63, 64 bytes: the lengths where padding changes shape;
	 * compare one-shot against byte-at-a-time. */
	static const size_t lens[] = {55, 56, 63, 64, 65, 119, 120};
	uint8_t buf[128];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		uint8_t a[LMS_SHA256_LEN], b[LMS_SHA256_LEN];
		lms_sha256(buf, lens[i], a);
		struct lms_sha256 c;
		lms_sha256_init(&c);
		for (size_t j = 0; j < lens[i]; j++)
			lms_sha256_update(&c, buf + j, 1);
		lms_sha256_final(&c, b);
		assert_memory_equal(a, b, LMS_SHA256_LEN);
	}
	uint8_t d[LMS_SHA256_LEN];
	memset(buf, 'a', 64);
	lms_sha256(buf, 64, d);
	assert_hex(d, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_hmac_rfc4231(void **state)
{
	uint8_t d[LMS_SHA256_LEN];
	uint8_t key[131];

	/* Test case 1 */
	memset(key, 0x0b, 20);
	lms_hmac_sha256(key, 20, "Hi There", 8, d);
	assert_hex(d, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* Test case 2: short key */
	const char *what = "what do ya want for nothing?";
	lms_hmac_sha256("Jefe", 4, what, strlen(what), d);
	assert_hex(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Test case 6: key longer than a block */
	memset(key, 0xaa, sizeof key);
	const char *big = "Test Using Larger Than Block-Size Key - Hash Key First";
	lms_hmac_sha256(key, 131, big, strlen(big), d);
	assert_hex(d, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_ct_equal(void **state)
{
	assert_true(lms_ct_equal("abcd", "abcd", 4));
	assert_false(lms_ct_equal("abcd", "abce", 4));
	assert_true(lms_ct_equal("x", "y", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_million_a_in_pieces),
		cmocka_unit_test(test_sha256_padding_edges),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_ct_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
