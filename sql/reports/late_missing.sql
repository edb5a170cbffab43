-- sql/reports/late_missing.sql -- late and missing work, now: for every
-- open assignment, the students whose latest attempt was late (with the
-- days late) and those who submitted nothing although their due time
-- (their extension's, if any) has passed (with how long ago). closed:
-- the cut-off has passed too, nothing more is accepted. The same
-- definitions as late and missing in `lms progress`.
--
--   psql -h 127.0.0.1 -p 15431 -U lms_report -d lms_node1 -v course=DEMO101 \
--        -f sql/reports/late_missing.sql       (without -v course: all)
--
-- View: lms.report_late_missing (migrations/002_reports.sql).
\set ON_ERROR_STOP on
\set QUIET on
\if :{?course}
\else
\set course ''
\endif
\pset title 'This node''s data'
SELECT node_id AS node, applied_index, latest_change, now
FROM lms.report_freshness;

\pset title 'Late and missing work'
SELECT course, student, display_name, assignment_id, assignment, status,
       effective_due_at AS due_at, extended, closed, attempts,
       last_submitted_at, days_late,
       date_trunc('minute', overdue_by) AS overdue_by
FROM lms.report_late_missing
WHERE :'course' = '' OR course = :'course'
ORDER BY course COLLATE "C", student COLLATE "C", effective_due_at,
         assignment_id;
\pset title
