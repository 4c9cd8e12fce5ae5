/*
 * unit.h - a tiny TAP-style test harness for the core's unit tests.
 */
#ifndef SS_UNIT_H
#define SS_UNIT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

extern int	unit_passed;
extern int	unit_failed;

#define CHECK(cond, ...) do { \
	if (cond) { unit_passed++; printf("ok %d - ", unit_passed + unit_failed); } \
	else { unit_failed++; printf("not ok %d - ", unit_passed + unit_failed); } \
	printf(__VA_ARGS__); printf("\n"); fflush(stdout); \
} while (0)

#endif
