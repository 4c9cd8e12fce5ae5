/*
 * catalog.h - who may write the model catalog, and how it is written.
 *
 * Models belong to the role that trained them (seqsales_model.owner).  No
 * role but the catalog's owner (the extension's creator) has INSERT,
 * UPDATE or DELETE on the catalog tables; every role may SELECT them, and
 * row security shows each role the models it owns (is a member of the
 * owner) or was granted.  The functions that change the catalog check the
 * caller's rights here, in C, then run their statements as the catalog's
 * owner (SetUserIdAndSecContext, as PostgreSQL's own maintenance commands
 * do) with search_path pinned to pg_catalog, so no object of the caller's
 * can run with the owner's rights.
 *
 * Trainings of one name are serialised by a transaction-level lock on the
 * name, taken without waiting before any row is read: a second training of
 * a name whose training has not committed fails at once, trainings of
 * other names never wait, and versions are numbered from the latest
 * committed state (whatever the caller's isolation level).
 */
#ifndef SEQSALES_CATALOG_H
#define SEQSALES_CATALOG_H

#include "seqsales.h"

/* The extension's catalog, for the SQL function fn_oid. */
typedef struct Catalog
{
	Oid			nsp;			/* the extension's schema */
	const char *schema;			/* its name, quoted */
	Oid			model_rel;		/* seqsales_model */
	Oid			owner;			/* of seqsales_model */
} Catalog;

void		catalog_open(Oid fn_oid, Catalog *cat);

/* Statements between these two run as the catalog's owner, search_path pinned. */
typedef struct CatalogWrite
{
	Oid			save_user;
	int			save_sec;
	int			guc_level;
} CatalogWrite;

void		catalog_write_begin(const Catalog *cat, CatalogWrite *w);
void		catalog_write_end(CatalogWrite *w);

/*
 * Before a training of name reads a row: refuses a read-only transaction
 * and a standby, takes the name's lock (or fails at once, 55P03), and
 * refuses a name whose models belong to a role the caller does not have
 * the privileges of (42501).  Requires an SPI connection.
 */
void		catalog_prepare_training(const Catalog *cat, const char *name);

/*
 * The owner of name's newest committed version (InvalidOid: none), read as
 * the catalog's owner with the latest snapshot.  Requires an SPI connection.
 */
Oid			catalog_name_owner(const Catalog *cat, const char *name);

/* 25006 on a hot standby or in a read-only transaction, naming fn_name */
void		catalog_check_writable(const char *fn_name);

/* ERROR unless the caller has the privileges of owner (42501). */
void		catalog_check_owner(Oid owner, const char *name, const char *action);

#endif
