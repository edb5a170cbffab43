-- sql/reports/tutor_sources.sql -- which course materials the AI tutor
-- cites most: per material, its citations in the tutor's answers, in how
-- many answers, how many distinct chunks (passages), when last; and the
-- citations people added to their own answers. Materials never cited are
-- listed last (candidates for a better title, topic or text).
--
--   psql -h 127.0.0.1 -p 15431 -U lms_report -d lms_node1 -v course=DEMO101 \
--        -f sql/reports/tutor_sources.sql      (without -v course: all)
--
-- View: lms.report_tutor_sources (migrations/002_reports.sql).
\set ON_ERROR_STOP on
\set QUIET on
\if :{?course}
\else
\set course ''
\endif
\pset title 'This node''s data'
SELECT node_id AS node, applied_index, latest_change, now
FROM lms.report_freshness;

\pset title 'Materials cited by the tutor'
SELECT course, material_id AS id, title, topic, kind,
       tutor_citations AS citations, tutor_answers AS answers,
       chunks_cited AS chunks, last_cited_at, staff_citations
FROM lms.report_tutor_sources
WHERE :'course' = '' OR course = :'course'
ORDER BY course COLLATE "C", tutor_citations DESC, tutor_answers DESC,
         title COLLATE "C", material_id;
\pset title
