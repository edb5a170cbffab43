/*
 * svc_machine.h -- the replicated state machine of lmsd: the LMS (entries
 * tagged 'L', a Lms__Rpc__Command) next to the key/value machine of the
 * storage driver (every other entry; used by tests, the benchmark and the
 * linearizability checker).
 *
 * The LMS schema lives in schema `lms` and is created and changed by the
 * migrations under migrations/, which are themselves log entries
 * (Command.migrate). lms_meta.schema_migration records each applied one
 * with its SQL, so that a snapshot can rebuild the schema on a node that
 * never saw those entries (schema_dump / schema_load of pgs.h).
 *
 * A node refuses to apply an entry that needs a schema version its binary
 * does not know (Command.min_schema or a migration above
 * SVC_SCHEMA_KNOWN): apply fails, the node stops with a message saying
 * which entry needs which version, and the operator upgrades lmsd. Skipping
 * the entry instead would make this node's tables differ from the others'.
 */
#ifndef LMSD_SVC_MACHINE_H
#define LMSD_SVC_MACHINE_H

#include "pgs.h"
#include "svc.h"

#define SVC_CMD_TAG 'L'

struct svc_machine {
	struct pgs_state_machine sm; /* pass &m->sm to pgs_open */
	struct svc_limits limits;
};

/* Fills m (the limits are copied). */
void svc_machine_init(struct svc_machine *m, const struct svc_limits *lim);

/* Appends the tagged, packed command to out. 0 or -1 (out of memory). */
int svc_command_encode(const Lms__Rpc__Command *cmd, struct pgs_buf *out);

/* The schema version applied on conn (0 before the first migration), or
 * -1 with a message. */
int svc_schema_version(PGconn *conn, char *err, size_t errlen);

/* Runs a read operation of lms.proto on the reader's connection: decodes
 * nothing, authenticates the token (NULL/0 = none), dispatches by
 * req->op_case to read_*, fills resp. now_ms: the local clock. Returns 0
 * (resp filled, refusal or not) or -1 (database failure, message in err). */
int svc_read(PGconn *conn, const struct svc_limits *lim,
             const Lms__Rpc__Request *req, const uint8_t *token_hash,
             int64_t now_ms, Lms__Rpc__Response *resp, char *err,
             size_t errlen);

#endif
