-- sql/001_raft.sql -- the node-local Raft tables.
--
-- Every node's PostgreSQL holds its own Raft state here, apart from the LMS
-- tables (which change only through the apply step). Nothing in this schema
-- is replicated by itself: each node writes it from its own Raft core.
-- Idempotent: applying it twice changes nothing (ops/cluster up, tests).
--
--   raft.hard_state      current term and vote (one row), fsynced before any
--                        message that depends on it leaves the node
--   raft.log             the log since the latest snapshot (minus a trailing
--                        margin kept for slow followers)
--   raft.snapshot        snapshot metadata; complete = all chunks stored
--   raft.snapshot_chunk  snapshot bytes, in chunks
--   raft.applied         last applied index (written in the same transaction
--                        as the state-machine changes it reflects)
--   raft.membership      the configuration as of the last applied CONFIG
--                        entry, for operators and reports
--   raft.node_identity   which node and cluster this database belongs to, so
--                        that a daemon pointed at the wrong database refuses

CREATE SCHEMA IF NOT EXISTS raft;

CREATE TABLE IF NOT EXISTS raft.hard_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    term      bigint  NOT NULL DEFAULT 0 CHECK (term >= 0),
    vote      bigint  NOT NULL DEFAULT 0 CHECK (vote >= 0)
);
INSERT INTO raft.hard_state (singleton) VALUES (true) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS raft.log (
    idx  bigint   PRIMARY KEY CHECK (idx > 0),
    term bigint   NOT NULL CHECK (term > 0),
    type smallint NOT NULL CHECK (type IN (1, 2, 3)), -- normal, noop, config
    data bytea    NOT NULL
);

CREATE TABLE IF NOT EXISTS raft.snapshot (
    idx        bigint  PRIMARY KEY CHECK (idx > 0),
    term       bigint  NOT NULL CHECK (term > 0),
    config     bytea   NOT NULL,          -- raft_config_encode()
    size       bigint  NOT NULL CHECK (size >= 0),
    complete   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS raft.snapshot_chunk (
    snapshot_idx bigint NOT NULL REFERENCES raft.snapshot (idx) ON DELETE CASCADE,
    off          bigint NOT NULL CHECK (off >= 0),
    data         bytea  NOT NULL,
    PRIMARY KEY (snapshot_idx, off)
);

CREATE TABLE IF NOT EXISTS raft.applied (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_applied bigint  NOT NULL DEFAULT 0 CHECK (last_applied >= 0)
);
INSERT INTO raft.applied (singleton) VALUES (true) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS raft.membership (
    server_id  bigint PRIMARY KEY CHECK (server_id > 0),
    role       text   NOT NULL CHECK (role IN ('voter', 'nonvoter')),
    address    text   NOT NULL,
    config_idx bigint NOT NULL CHECK (config_idx >= 0)
);

CREATE TABLE IF NOT EXISTS raft.node_identity (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    node_id   bigint  NOT NULL CHECK (node_id > 0),
    cluster   text    NOT NULL
);
