-- sql/reports/tutor_vs_instructors.sql -- who answers the students'
-- questions, and how fast: per course, the questions first answered by
-- the AI tutor and by people (the course's instructors and TAs, or an
-- admin), how many of each were addressed to the tutor or to the
-- instructors, and the response time (answered - asked: mean, median,
-- fastest, slowest); the unanswered ones with the longest wait so far.
--
--   psql -h 127.0.0.1 -p 15431 -U lms_report -d lms_node1 -v course=DEMO101 \
--        -f sql/reports/tutor_vs_instructors.sql   (without -v course: all)
--
-- One row per question: SELECT * FROM lms.report_questions.
-- Views: lms.report_tutor_vs_instructors, lms.report_questions
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

\pset title 'Questions answered by the tutor and by instructors'
SELECT course, answered_by, questions, to_tutor, to_instructor,
       date_trunc('second', mean_response) AS mean_response,
       date_trunc('second', median_response) AS median_response,
       min_response AS fastest, max_response AS slowest,
       date_trunc('minute', longest_waiting) AS longest_waiting
FROM lms.report_tutor_vs_instructors
WHERE :'course' = '' OR course = :'course'
ORDER BY course COLLATE "C",
         array_position(ARRAY['tutor', 'instructor', 'unanswered'],
                        answered_by);
\pset title
