-- sql/reports/gradebook.sql -- a course's gradebook: one row per student,
-- one column per assignment (by due time) holding the final score of the
-- student's latest graded attempt (empty: nothing graded), and the
-- student's average of final / max points * 100 over the graded ones --
-- the figures of `lms gradebook CODE`.
--
--   psql -h 127.0.0.1 -p 15431 -U lms_report -d lms_node1 -v course=DEMO101 \
--        -f sql/reports/gradebook.sql
--
-- Column headers are "#id title (max points)". One row per student and
-- assignment, with attempts, late flags and raw scores: SELECT * FROM
-- lms.report_gradebook WHERE course = 'DEMO101'.
-- View: lms.report_gradebook (migrations/002_reports.sql).
\set ON_ERROR_STOP on
\set QUIET on
\if :{?course}
\else
\warn 'gradebook.sql needs a course: psql ... -v course=CODE -f sql/reports/gradebook.sql'
\quit
\endif
\pset title 'This node''s data'
SELECT node_id AS node, applied_index, latest_change, now
FROM lms.report_freshness;

\set title 'Gradebook of ' :course
\pset title :title
SELECT student, assignment, score, col
FROM (SELECT g.student,
             format('#%s %s (%s)', g.assignment_id, g.assignment,
                    trim_scale(g.max_points)) AS assignment,
             g.final_score AS score,
             dense_rank() OVER (ORDER BY g.due_at, g.assignment_id) AS col
      FROM lms.report_gradebook g
      WHERE g.course = :'course'
      UNION ALL
      SELECT DISTINCT g.student, 'average', g.average, 1000000000
      FROM lms.report_gradebook g
      WHERE g.course = :'course') cells
ORDER BY student COLLATE "C", col
\crosstabview student assignment score col
\pset title
