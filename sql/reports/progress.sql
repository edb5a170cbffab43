-- sql/reports/progress.sql -- every student's progress per course, as
-- `lms progress` computes it: over the assignments open now, how many
-- are done, due, missing and late, how many graded, the average of final
-- / max points * 100 (two decimals, half up), the level (beginner below
-- 70, intermediate below 85, advanced from 85), the last five scores by
-- due time and their trend (improving / declining when the last two
-- differ from the earlier ones by more than 5 points).
--
--   psql -h 127.0.0.1 -p 15431 -U lms_report -d lms_node1 -v course=DEMO101 \
--        -f sql/reports/progress.sql           (-v student=NAME: one student)
--
-- View: lms.report_progress (migrations/002_reports.sql).
\set ON_ERROR_STOP on
\set QUIET on
\if :{?course}
\else
\set course ''
\endif
\if :{?student}
\else
\set student ''
\endif
\pset title 'This node''s data'
SELECT node_id AS node, applied_index, latest_change, now
FROM lms.report_freshness;

\pset title 'Progress'
SELECT course, student, display_name, assignments, done, due, missing,
       late, graded, average, level, recent, trend
FROM lms.report_progress
WHERE (:'course' = '' OR course = :'course')
  AND (:'student' = '' OR student = :'student')
ORDER BY course COLLATE "C", student COLLATE "C";
\pset title
