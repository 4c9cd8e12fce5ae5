/*
 * row_scan.c - a DestReceiver that passes each row of a query to a callback.
 *
 * SPI_cursor_fetch copies every row into a heap tuple of an SPI tuple table
 * (heap_form_tuple); batch scoring and training read every row of a table
 * once and need a few of its columns, so they take the rows straight from
 * the executor's slot instead.
 */
#include "row_scan.h"

#include "tcop/dest.h"

typedef struct RowScanReceiver
{
	DestReceiver pub;			/* first: the executor sees a DestReceiver */
	row_scan_fn fn;
	void	   *arg;
} RowScanReceiver;

static bool
row_scan_receive(TupleTableSlot *slot, DestReceiver *self)
{
	RowScanReceiver *r = (RowScanReceiver *) self;

	r->fn(slot, r->arg);
	return true;
}

static void
row_scan_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
row_scan_shutdown(DestReceiver *self)
{
}

static void
row_scan_destroy(DestReceiver *self)
{
}

void
row_scan(const char *query, row_scan_fn fn, void *arg)
{
	RowScanReceiver r;
	SPIExecuteOptions opt;
	int			rc;

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = row_scan_receive;
	r.pub.rStartup = row_scan_startup;
	r.pub.rShutdown = row_scan_shutdown;
	r.pub.rDestroy = row_scan_destroy;
	r.pub.mydest = DestNone;	/* rows go to fn, not to an SPI tuple table */
	r.fn = fn;
	r.arg = arg;
	memset(&opt, 0, sizeof(opt));
	opt.read_only = true;
	opt.dest = &r.pub;
	rc = SPI_execute_extended(query, &opt);
	if (rc < 0)
		elog(ERROR, "row scan failed for \"%s\": %s", query, SPI_result_code_string(rc));
}
