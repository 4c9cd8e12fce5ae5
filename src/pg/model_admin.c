/*
 * model_admin.c - what a model's owner may do with it besides retraining:
 * drop it, let other roles predict with it, record its source relation.
 * Each checks that the caller has the privileges of the model's owner,
 * then writes as the catalog's owner (catalog.h).
 */
#include "catalog.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(seqsales_drop_model);
PG_FUNCTION_INFO_V1(seqsales_grant);
PG_FUNCTION_INFO_V1(seqsales_revoke);
PG_FUNCTION_INFO_V1(seqsales_set_source);

static char *
model_name_arg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	return text_to_cstring(PG_GETARG_TEXT_PP(0));
}

/*
 * Opens the catalog for a change of model name by the caller: SPI
 * connected, writable, the caller has the owner's privileges.  A model the
 * caller may not even see is reported as missing.
 */
static void
begin_change(FunctionCallInfo fcinfo, const char *name, const char *action, Catalog *cat)
{
	Oid			owner;

	catalog_check_writable(psprintf("%s()", get_func_name(fcinfo->flinfo->fn_oid)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	catalog_open(fcinfo->flinfo->fn_oid, cat);
	owner = catalog_name_owner(cat, name);
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	catalog_check_owner(owner, name, action);
}

/* Runs a statement with args as the catalog's owner; returns the rows it changed. */
static uint64
run_as_owner(const Catalog *cat, const char *query, int nargs, Oid *types, Datum *args)
{
	CatalogWrite w;
	int			rc;
	uint64		n;

	catalog_write_begin(cat, &w);
	rc = SPI_execute_with_args(query, nargs, types, args, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "catalog change failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	catalog_write_end(&w);
	return n;
}

/* seqsales_drop_model(model_name, version DEFAULT NULL = every version): rows dropped */
Datum
seqsales_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name = model_name_arg(fcinfo);
	Catalog		cat;
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	uint64		n;

	begin_change(fcinfo, name, "drop", &cat);
	args[0] = CStringGetTextDatum(name);
	if (PG_ARGISNULL(1))
		n = run_as_owner(&cat, psprintf("DELETE FROM %s.seqsales_model WHERE name = $1", cat.schema),
						 1, types, args);
	else
	{
		args[1] = Int32GetDatum(PG_GETARG_INT32(1));
		n = run_as_owner(&cat, psprintf("DELETE FROM %s.seqsales_model WHERE name = $1 AND version = $2",
										cat.schema), 2, types, args);
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" has no version %d", name, PG_GETARG_INT32(1))));
	}
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}

/* The role argument: a role name, or PUBLIC (InvalidOid). */
static Oid
role_arg(FunctionCallInfo fcinfo)
{
	char	   *role;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be NULL"),
				 errhint("Pass a role name, or PUBLIC for every role.")));
	role = text_to_cstring(PG_GETARG_TEXT_PP(1));
	return get_role_oid_or_public(role);	/* 42704 for an unknown role */
}

static Datum
change_readers(FunctionCallInfo fcinfo, bool grant)
{
	char	   *name = model_name_arg(fcinfo);
	Oid			role = role_arg(fcinfo);
	Catalog		cat;
	Oid			types[2] = {TEXTOID, OIDOID};
	Datum		args[2];
	uint64		n;

	begin_change(fcinfo, name, grant ? "grant" : "revoke", &cat);
	args[0] = CStringGetTextDatum(name);
	args[1] = ObjectIdGetDatum(role);
	n = run_as_owner(&cat,
					 grant
					 ? psprintf("UPDATE %s.seqsales_model SET readers = array_append(array_remove(readers, $2::regrole), $2::regrole)"
								" WHERE name = $1", cat.schema)
					 : psprintf("UPDATE %s.seqsales_model SET readers = array_remove(readers, $2::regrole)"
								" WHERE name = $1", cat.schema),
					 2, types, args);
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}

/* seqsales_grant(model_name, role): role (or PUBLIC) may read and predict with every version */
Datum
seqsales_grant(PG_FUNCTION_ARGS)
{
	return change_readers(fcinfo, true);
}

/* seqsales_revoke(model_name, role) */
Datum
seqsales_revoke(PG_FUNCTION_ARGS)
{
	return change_readers(fcinfo, false);
}

/*
 * seqsales_set_source(model_name, source): records source as the relation
 * every version of the model reads its histories from (after a restore, or
 * a table created again on purpose).  The caller must be able to read it.
 */
Datum
seqsales_set_source(PG_FUNCTION_ARGS)
{
	char	   *name = model_name_arg(fcinfo);
	Oid			rel;
	Catalog		cat;
	Oid			types[3] = {TEXTOID, TEXTOID, OIDOID};
	Datum		args[3];
	uint64		n;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source relation must not be NULL")));
	rel = PG_GETARG_OID(1);
	begin_change(fcinfo, name, "change", &cat);
	if (get_rel_name(rel) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", rel)));
	if (pg_class_aclcheck(rel, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(rel))));
	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(qualified_relation_name(rel));
	args[2] = ObjectIdGetDatum(rel);
	n = run_as_owner(&cat, psprintf("UPDATE %s.seqsales_model SET source_relation = $2, source_oid = $3"
									" WHERE name = $1", cat.schema), 3, types, args);
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}
