/*
 * row_scan.h - run a query and hand each result row to a function as the
 * executor produces it.
 */
#ifndef ROW_SCAN_H
#define ROW_SCAN_H

#include "postgres.h"

#include "executor/spi.h"
#include "executor/tuptable.h"

/*
 * Called once per row with the executor's slot: read it with
 * slot_getattr / slot_getsomeattrs (columns are deformed on demand, so a
 * row can be skipped after its first column).  The slot and the datums it
 * points to are valid only during the call; the call runs in the
 * executor's per-query memory context, so switch to a context of your own
 * before allocating.
 */
typedef void (*row_scan_fn) (TupleTableSlot *slot, void *arg);

/*
 * Runs a read-only query (inside SPI_connect) and calls fn on every row: no
 * copy of a row into an SPI tuple table, no fetch batches.  An error raised
 * by fn ends the query like any other error.
 */
void		row_scan(const char *query, row_scan_fn fn, void *arg);

#endif
