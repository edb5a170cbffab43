/*
 * main.c -- lms, the command-line client of the LMS (students,
 * instructors, admins). Everything is in the lms_cli library (lms.h);
 * this file only hands over the command line.
 */
#include "lms.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
