-- sql/002_state.sql -- replicated state kept by the storage driver itself.
--
-- Unlike the raft.* tables of 001_raft.sql, the tables of schema raft_state
-- ARE replicated state: they change only through the apply step (raft/pg,
-- inside the transaction that also sets raft.applied.last_applied), they are
-- copied into snapshots and covered by the state checksum, so every node
-- holds byte-identical rows at the same applied index.
-- Idempotent: applying it twice changes nothing.
--
--   raft_state.client_session  exactly-once writes: per client id, the last
--                              applied sequence number and its recorded
--                              result; a retry of that sequence gets the
--                              result instead of a second application.
--                              client_id and last_seq hold unsigned 64-bit
--                              values in the bits of a bigint. Never
--                              trimmed (known limit).
--   raft_state.kv              the small key/value state machine of raft/pg
--                              (pgs_kv_state_machine), used by tests and
--                              examples; version = log index of the last
--                              write. Unused (empty) on LMS nodes.

CREATE SCHEMA IF NOT EXISTS raft_state;

CREATE TABLE IF NOT EXISTS raft_state.client_session (
    client_id   bigint PRIMARY KEY CHECK (client_id <> 0),
    last_seq    bigint NOT NULL,
    last_result bytea  NOT NULL
);

CREATE TABLE IF NOT EXISTS raft_state.kv (
    key     text   PRIMARY KEY CHECK (octet_length(key) BETWEEN 1 AND 1024),
    value   bytea  NOT NULL,
    version bigint NOT NULL CHECK (version > 0)
);
