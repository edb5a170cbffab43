/*
 * test_cli.c -- the `lms` command-line client end to end: the built
 * binary driven as a subprocess against a real five-node cluster, with
 * --json output parsed and checked, exit codes of every error class, the
 * session file, downloads, the menu driven through stdin, and the
 * terminal paths under a pseudo-terminal.
 *
 * Each scenario is one cmocka test with a fresh cluster (cli_util.h has
 * the helpers); ctest runs each as its own test by passing its name
 * (`test_cli cli_menu`; no argument runs them all).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli_util.h"

#define T(f) cmocka_unit_test_setup_teardown(f, cl_setup, cl_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(cli_accounts),
		T(cli_courses_work),
		T(cli_materials_queries),
		T(cli_menu),
		T(cli_tty),
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
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
