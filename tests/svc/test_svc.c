/*
 * test_svc.c -- the LMS service against a real five-node cluster: the
 * role checks of every operation, replication of the LMS tables,
 * exactly-once writes across a leader crash, uploads, schema migrations
 * and sessions (one file per scenario family; svc_util.h has the helpers).
 *
 * Each scenario is one cmocka test with a fresh cluster (cl_boot) on which
 * it installs the schema itself; ctest runs each as its own test by
 * passing its name (`test_svc svc_uploads`; no argument runs them all).
 * Figures and findings are printed as "[svc] ..." lines (ctest -V).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "svc_util.h"

#define T(f) cmocka_unit_test_setup_teardown(f, cl_setup, cl_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(svc_role_matrix),
		T(svc_five_nodes),
		T(svc_exactly_once),
		T(svc_uploads),
		T(svc_migrations),
		T(svc_login_sessions),
	};
	if (argc > 2) {
		fprintf(stderr, "usage: %s [TEST_NAME]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		bool known = false;
		for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
			known |= strcmp(tests[i].name, argv[1]) == 0;
		if (!known) {
			fprintf(stderr, "%s: no test named \"%s\"\n", argv[0],
			        argv[1]);
			return 2;
		}
		cmocka_set_test_filter(argv[1]);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int rc = cmocka_run_group_tests_name("svc", tests, NULL, NULL);
	fx_cleanup(); /* cairo's and fontconfig's caches (uploads' PDFs) */
	return rc;
}
