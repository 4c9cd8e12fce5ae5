# seqsales - PGXS build
EXTENSION = seqsales
MODULE_big = seqsales
EXTVERSION = 0.2

CORE_SRCS = $(sort $(wildcard src/core/*.c))
PG_SRCS = $(sort $(wildcard src/pg/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

# install script: the SQL fragments of src/sql, in this order
SQL_PARTS = src/sql/catalog.sql src/sql/functions.sql src/sql/selection.sql src/sql/demo_data.sql
DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(EXTENSION)--0.1--0.2.sql
# earlier versions' install scripts (the upgrade script 0.1 -> 0.2 is
# src/sql/update-0.1-0.2.sql then the new parts, as the install script has them)
DATA = src/sql/seqsales--0.1.sql
UPDATE_0_2_PARTS = src/sql/update-0.1-0.2.sql src/sql/selection.sql

# OpenBLAS is opened with dlopen() in the backend (see src/core/blas.h)
SHLIB_LINK = -ldl -lm -lpthread -lz
PG_CFLAGS = -O3 -fno-trapping-math -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Werror

# make SANITIZE=1: the AddressSanitizer + UBSan build of scripts/test.sh --asan
# (built in a copy of the tree and installed into a private copy of
# PostgreSQL, whose server must preload libasan: see scripts/lib/common.sh)
include tests/sanitize.mk
ifdef SANITIZE
PG_CFLAGS += $(SANITIZE_CFLAGS)
SHLIB_LINK += $(SANITIZE_LDFLAGS)
endif

REGRESS = setup train predict errors catalog nested robustness privileges upgrade upgrade_model evaluate cross_validate tune memory_estimate history order_mode
REGRESS_OPTS = --load-extension=$(EXTENSION)
# concurrency: specs/*.spec, run by pg_isolation_regress
ISOLATION = concurrent_training
ISOLATION_OPTS = --load-extension=$(EXTENSION)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on every header (a struct change must rebuild all)
$(OBJS): $(wildcard src/core/*.h src/pg/*.h)

$(EXTENSION)--0.1--0.2.sql: $(UPDATE_0_2_PARTS)
	( echo "-- seqsales 0.1 -> 0.2 (generated from src/sql by make)"; \
	  for f in $(UPDATE_0_2_PARTS); do echo; echo "-- $$f"; cat $$f; done ) > $@

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	( echo "-- seqsales $(EXTVERSION) install script (generated from src/sql/*.sql by make)"; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION seqsales" to load this file. \quit'; \
	  for f in $(SQL_PARTS); do echo; echo "-- $$f"; cat $$f; done ) > $@

unit: tests/unit/test_core
	tests/unit/test_core tests/fixtures

tests/unit/test_core tests/unit/test_core_asan: $(CORE_SRCS) $(wildcard src/core/*.h) $(wildcard tests/unit/*.c tests/unit/*.h) tests/sanitize.mk
	$(MAKE) -C tests/unit $(notdir $@)

.PHONY: unit

print-regress:
	@echo $(REGRESS)
.PHONY: print-regress

bench/core_bench: bench/core_bench.c bench/bench_clock.h $(CORE_SRCS) $(wildcard src/core/*.h)
	$(CC) -O3 -fno-trapping-math -g -std=gnu99 -D_GNU_SOURCE -o $@ bench/core_bench.c $(CORE_SRCS) -ldl -lm -lpthread -lz

bench/sgemm_peak: bench/sgemm_peak.c bench/bench_clock.h $(CORE_SRCS) $(wildcard src/core/*.h)
	$(CC) -O2 -g -std=gnu99 -D_GNU_SOURCE -o $@ bench/sgemm_peak.c $(CORE_SRCS) -ldl -lm -lpthread -lz

bench/packed_bench: bench/packed_bench.c bench/bench_clock.h $(CORE_SRCS) $(wildcard src/core/*.h)
	$(CC) -O3 -fno-trapping-math -g -std=gnu99 -D_GNU_SOURCE -o $@ bench/packed_bench.c $(CORE_SRCS) -ldl -lm -lpthread -lz

bench/cancel_bench: bench/cancel_bench.c bench/bench_clock.h $(CORE_SRCS) $(wildcard src/core/*.h)
	$(CC) -O3 -fno-trapping-math -g -std=gnu99 -D_GNU_SOURCE -o $@ bench/cancel_bench.c $(CORE_SRCS) -ldl -lm -lpthread -lz

bench/lstm_bench: bench/lstm_bench.c bench/bench_clock.h $(CORE_SRCS) $(wildcard src/core/*.h)
	$(CC) -O3 -fno-trapping-math -g -std=gnu99 -D_GNU_SOURCE -o $@ bench/lstm_bench.c $(CORE_SRCS) -ldl -lm -lpthread -lz

bench-core: bench/core_bench bench/sgemm_peak bench/packed_bench bench/cancel_bench bench/lstm_bench

.PHONY: bench-core
