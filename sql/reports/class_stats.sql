-- sql/reports/class_stats.sql -- class statistics, as `lms stats`: per
-- course, the students' averages (mean, median, high, low, and A >= 90,
-- B >= 80, C >= 70, D >= 60, F below) and the open questions; then per
-- assignment the submission rate, late and missing work, and the same
-- figures over the assignment's normalized scores.
--
--   psql -h 127.0.0.1 -p 15431 -U lms_report -d lms_node1 -v course=DEMO101 \
--        -f sql/reports/class_stats.sql        (without -v course: all)
--
-- Empty mean / median / high / low: nothing graded yet.
-- Views: lms.report_class_stats, lms.report_assignment_stats
-- (migrations/002_reports.sql).
\set ON_ERROR_STOP on
\set QUIET on
\if :{?course}
\else
\set course ''
\endif
\pset title 'This node''s data'
SELECT node_id AS node, applied_index, latest_change, now
FROM lms.report_freshness;

\pset title 'Class statistics'
SELECT course, title, students, graded_students AS graded, mean, median,
       high, low, grade_a AS a, grade_b AS b, grade_c AS c, grade_d AS d,
       grade_f AS f, assignments, open_questions
FROM lms.report_class_stats
WHERE :'course' = '' OR course = :'course'
ORDER BY course COLLATE "C";

\pset title 'Per assignment'
SELECT course, assignment_id AS id, assignment, due_at, max_points,
       submitted, students, submission_rate AS "rate %", late, missing,
       graded, mean, median, high, low, grade_a AS a, grade_b AS b,
       grade_c AS c, grade_d AS d, grade_f AS f
FROM lms.report_assignment_stats
WHERE :'course' = '' OR course = :'course'
ORDER BY course COLLATE "C", due_at, assignment_id;
\pset title
