/*
 * test_main.c - runs the core's unit tests; prints TAP lines and a closing
 * "N passed, N failed" line; exits non-zero on any failure.
 */
#include "unit.h"
#include "../../src/core/blas.h"

int			unit_passed = 0;
int			unit_failed = 0;

void		run_layer_tests(void);
void		run_lstm_tests(void);
void		run_history_tests(void);
void		run_blob_fixture_tests(const char *fixture_dir);
void		run_train_tests(void);
void		run_encode_tests(void);
void		run_memory_tests(void);
void		run_interrupt_tests(void);
void		run_metrics_tests(void);
void		run_model_file_tests(const char *fixture_dir);
void		run_tpe_tests(void);
void		run_counting_tests(void);
void		run_order_tests(void);

int
main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	const char *err = ss_blas_load();

	if (err != NULL)
	{
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	printf("# %s\n", ss_blas_info());
	run_layer_tests();
	run_lstm_tests();
	run_history_tests();
	run_blob_fixture_tests(fixtures);
	run_model_file_tests(fixtures);
	run_train_tests();
	run_encode_tests();
	run_memory_tests();
	run_interrupt_tests();
	run_metrics_tests();
	run_tpe_tests();
	run_counting_tests();
	run_order_tests();
	printf("1..%d\n", unit_passed + unit_failed);
	printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed > 0;
}
