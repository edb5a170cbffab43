/*
 * lincheck_main.c -- lms-lincheck: is a recorded register history
 * linearizable?
 *
 *   lms-lincheck HISTORY.jsonl [--budget N] [--cache-mib N] [--json]
 *
 * Loads the history (format in history.h; "-" reads standard input),
 * checks it (linearize.h) and prints the summary, or the result as one JSON
 * object with --json. Exit status: 0 linearizable, 1 anomaly, 3 undecided
 * (a key's search ran out of budget or memory), 2 usage or input error.
 * The logic lives in the lms_chaos library; this file only parses the
 * command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "history.h"
#include "linearize.h"
#include "util.h"

#define EXIT_USAGE 2

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: lms-lincheck HISTORY.jsonl [--budget N] "
		"[--cache-mib N] [--json]\n"
		"Check that a register history (one JSON operation a line, "
		"\"-\" for stdin)\n"
		"is linearizable, each key on its own.\n\n"
		"  -b, --budget N      search steps per key before giving up "
		"as undecided\n"
		"                      (default %u)\n"
		"  -c, --cache-mib N   memo cache per key, MiB (default %zu)\n"
		"  -j, --json          print the result as JSON\n"
		"  -h, --help          this help\n"
		"  -V, --version       version\n\n"
		"Exit status: 0 linearizable, 1 anomaly, 3 undecided, 2 usage "
		"or input error.\n",
		LMS_LIN_DEFAULT_BUDGET, LMS_LIN_DEFAULT_CACHE_BYTES >> 20);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"budget", required_argument, NULL, 'b'},
		{"cache-mib", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct lms_lin_options lopt = {0};
	struct lms_lin_result res;
	struct lms_history h;
	bool as_json = false;
	uint64_t v;
	char err[512];
	int c, rv, status;

	while ((c = getopt_long(argc, argv, "b:c:jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (lms_parse_u64(optarg, 1, UINT64_MAX, &v) != 0) {
				fprintf(stderr, "lms-lincheck: invalid budget "
					"\"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			lopt.budget = v;
			break;
		case 'c':
			if (lms_parse_u64(optarg, 1, 1u << 20, &v) != 0) {
				fprintf(stderr, "lms-lincheck: invalid cache "
					"size \"%s\" (MiB, 1 to 1048576)\n",
					optarg);
				return EXIT_USAGE;
			}
			lopt.max_cache_bytes = (size_t)v << 20;
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("lms-lincheck %s\n", LMS_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}

	lms_history_init(&h);
	rv = lms_history_load(argv[optind], &h, err, sizeof(err));
	if (rv != 0) {
		fprintf(stderr, "lms-lincheck: %s\n", err);
		return EXIT_USAGE;
	}
	rv = lms_lin_check(&h, &lopt, &res);
	if (rv != 0) {
		fprintf(stderr, "lms-lincheck: check failed: %s\n",
			strerror(-rv));
		lms_history_free(&h);
		return EXIT_USAGE;
	}
	status = (int)res.verdict;
	if (as_json) {
		json_t *o = lms_lin_result_json(&h, &res);

		if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
			fprintf(stderr, "lms-lincheck: could not write the "
				"JSON result\n");
			status = EXIT_USAGE;
		} else {
			putchar('\n');
		}
		json_decref(o);
	} else {
		lms_lin_result_print(stdout, &h, &res);
	}
	if (fflush(stdout) != 0)
		status = EXIT_USAGE;
	lms_lin_result_free(&res);
	lms_history_free(&h);
	return status;
}
