-- sql/reports/freshness.sql -- how fresh is this node's data?
--
-- The node, its applied Raft index (the same on every node once they are
-- in sync), the LMS schema version, the latest time an applied change
-- stamped into the LMS tables, and now on this node's clock. Every other
-- report prints this first: a report reflects the node it runs on, up to
-- its applied index; compare applied_index across nodes (or with
-- `lms-admin status`) to see whether this one is behind.
--
--   psql -h 127.0.0.1 -p 15431 -U lms_report -d lms_node1 \
--        -f sql/reports/freshness.sql
--
-- View: lms.report_freshness (migrations/002_reports.sql).
\set ON_ERROR_STOP on
\set QUIET on
\pset title 'This node''s data'
SELECT node_id AS node, cluster, applied_index, schema_version,
       latest_change, now, since_latest_change
FROM lms.report_freshness;
\pset title
