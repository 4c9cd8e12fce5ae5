/*
 * catalog.c - the rights and locks around writing the model catalog (see
 * catalog.h for the design).
 */
#include "catalog.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/* locktag_field4 of the name locks: not 1 or 2, the values of pg_advisory_lock */
#define NAME_LOCK_KIND 0x5353

void
catalog_open(Oid fn_oid, Catalog *cat)
{
	HeapTuple	tup;

	cat->nsp = get_func_namespace(fn_oid);
	cat->schema = seqsales_schema(fn_oid);
	cat->model_rel = get_relname_relid("seqsales_model", cat->nsp);
	if (!OidIsValid(cat->model_rel))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the seqsales catalog table %s.seqsales_model does not exist", cat->schema),
				 errhint("Reinstall the extension: DROP EXTENSION seqsales; CREATE EXTENSION seqsales;")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(cat->model_rel));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", cat->model_rel);
	cat->owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
}

void
catalog_write_begin(const Catalog *cat, CatalogWrite *w)
{
	GetUserIdAndSecContext(&w->save_user, &w->save_sec);
	SetUserIdAndSecContext(cat->owner,
						   w->save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	/* operators and functions of the statements: pg_catalog's only */
	w->guc_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
catalog_write_end(CatalogWrite *w)
{
	AtEOXact_GUC(false, w->guc_level);
	SetUserIdAndSecContext(w->save_user, w->save_sec);
}

void
catalog_check_writable(const char *fn_name)
{
	PreventCommandDuringRecovery(fn_name);
	PreventCommandIfReadOnly(fn_name);
}

void
catalog_check_owner(Oid owner, const char *name, const char *action)
{
	char	   *owner_name;

	if (!OidIsValid(owner) || has_privs_of_role(GetUserId(), owner))
		return;
	owner_name = GetUserNameFromId(owner, true);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s model \"%s\"", action, name),
			 errdetail("Model \"%s\" belongs to role %s.", name, owner_name ? owner_name : "(dropped)"),
			 errhint("Only members of the owning role may retrain, drop or grant a model; "
					 "train under another name.")));
}

Oid
catalog_name_owner(const Catalog *cat, const char *name)
{
	CatalogWrite w;
	char	   *q;
	SPIPlanPtr	plan;
	Oid			type = TEXTOID;
	Datum		arg = CStringGetTextDatum(name);
	Oid			owner = InvalidOid;
	int			rc;

	catalog_write_begin(cat, &w);
	q = psprintf("SELECT owner::oid FROM %s.seqsales_model WHERE name = $1 ORDER BY version DESC LIMIT 1",
				 cat->schema);
	plan = SPI_prepare(q, 1, &type);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	/* the latest committed versions, not those of the caller's snapshot */
	rc = SPI_execute_snapshot(plan, &arg, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "model owner lookup failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		bool		isnull;

		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freeplan(plan);
	catalog_write_end(&w);
	return owner;
}

/* The transaction-level lock of a model name, or 55P03 at once. */
static void
lock_name(const char *name)
{
	LOCKTAG		tag;
	uint64		h = hash_bytes_extended((const unsigned char *) name, strlen(name), 0x5e95a1e5ULL);

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h, NAME_LOCK_KIND);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("model \"%s\" is being trained by another transaction", name),
				 errdetail("Trainings of one name are numbered in commit order; the other one has not committed yet."),
				 errhint("Wait for it to commit, or train under another name.")));
}

void
catalog_prepare_training(const Catalog *cat, const char *name)
{
	catalog_check_writable("seqsales_train()");
	lock_name(name);
	catalog_check_owner(catalog_name_owner(cat, name), name, "retrain");
}
