-- 002_reports.sql -- the reporting views (README "Reporting (SQL)").
--
-- Applied through the Raft log by `lms-migrate up`, inside the apply
-- transaction, at the same log index on every node; a snapshot install
-- runs it again after DROP SCHEMA lms CASCADE. It creates views only:
-- views hold no rows, so snapshots and state checksums (which cover
-- tables) ignore them, and nothing here reads the clock at apply time
-- (now() inside a view runs when the view is read).
--
-- The views, one concern each (sql/reports/*.sql are ready queries):
--   report_gradebook         one row per student and assignment of a
--                            course: the student's latest attempt and the
--                            counted grade; the student's average
--   report_late_missing      open work that is late or missing, now
--   report_progress          one row per student and course: done, due,
--                            missing, late, graded, average, level, the
--                            recent scores and their trend
--   report_class_stats       one row per course: the students' averages
--                            (mean, median, high, low, A-F) and the
--                            open questions
--   report_assignment_stats  one row per assignment: submission rate,
--                            late, missing, mean, median, high, low, A-F
--   report_questions         one row per question: who answered first
--                            (the tutor or a person) and how fast
--   report_tutor_vs_instructors  those questions summed per course and
--                            answerer, with response times
--   report_tutor_sources     one row per material: how often the tutor's
--                            answers cite it
--   report_freshness         one row: this node's applied index and the
--                            time of its latest stamped LMS change
--
-- Figures follow the service's definitions exactly (lmsd/svc/
-- read_progress.c, read_gradebook.c), so a report and `lms progress` /
-- `lms stats` / `lms gradebook` agree on the same node and time:
--   counted grade  the grade of the student's latest graded attempt (a
--                  later, ungraded attempt does not hide it)
--   normalized     final_score * 100 / max_points, exact (numeric); shown
--                  rounded to two decimals
--   average        round(mean of the exact normalized counted grades, 2)
--                  (round() of a non-negative numeric is half up)
--   students       accounts enrolled in the course as students; staff's
--                  own submissions are never counted
-- "now" is now(): the start of the reading transaction on this node's
-- clock, as the service's reads use the reading node's clock. Where the
-- service answers 0 or "" for "no value" (a mean with nothing graded, no
-- level, too few grades for a trend) a view answers NULL; the counts
-- beside it (graded = 0) say the same thing.
--
-- report_freshness also reads raft.applied and raft.node_identity
-- (sql/001_raft.sql) and lms_meta.schema_migration (lmsd/svc/
-- svc_machine.c), which every node has before its first migration; a
-- change to their columns has to re-create that view.
--
-- Access: the views run with their owner's rights (not security_invoker),
-- so a role that holds nothing but CONNECT on the database and the grants
-- below -- ops/cluster's lms_report -- reads these views and no table:
-- lms.app_user, lms.session, lms.file and the rest stay closed to it.
-- Roles are per server and are not created here (a migration must do the
-- same on every node, and several nodes may share one server). No view
-- shows password hashes, session token hashes, file bytes, or the text
-- of submissions, questions and answers. security_barrier keeps a
-- reader's own functions in WHERE from seeing rows a view filters out.

-- -------------------------------------------------------------- gradebook

-- Every student of a course times every assignment of the course.
--   effective_due_at / _cutoff_at  the student's extension's, else the
--                  assignment's (an extension replaces both; NULL cut-off:
--                  none)
--   attempts, submitted, last_submitted_at, late, days_late
--                  of the latest attempt (attempts = its number, 0: none),
--                  which decides done and late, as progress does
--   graded_*, raw_score, penalty_pct, final_score, graded_at
--                  of the counted grade (the latest graded attempt)
--   normalized     final_score * 100 / max_points, two decimals
--   average        the gradebook's last column: over every assignment of
--                  the course with a counted grade (the same on each of
--                  the student's rows)
CREATE VIEW lms.report_gradebook WITH (security_barrier) AS
SELECT c.id AS course_id,
       c.code AS course,
       u.id AS student_id,
       u.username AS student,
       u.display_name,
       a.id AS assignment_id,
       a.title AS assignment,
       a.opens_at,
       a.due_at,
       COALESCE(x.due_at, a.due_at) AS effective_due_at,
       CASE WHEN x.user_id IS NULL THEN a.cutoff_at ELSE x.cutoff_at END
         AS effective_cutoff_at,
       x.user_id IS NOT NULL AS extended,
       a.max_points,
       COALESCE(l.attempt, 0) AS attempts,
       l.attempt IS NOT NULL AS submitted,
       l.submitted_at AS last_submitted_at,
       COALESCE(l.late, false) AS late,
       l.days_late,
       k.submission_id AS graded_submission_id,
       k.attempt AS graded_attempt,
       k.raw_score,
       k.penalty_pct,
       k.final_score,
       round(k.final_score * 100 / a.max_points, 2) AS normalized,
       k.graded_at,
       round(avg(k.final_score * 100 / a.max_points)
             OVER (PARTITION BY c.id, u.id), 2) AS average
FROM lms.enrollment e
JOIN lms.course c ON c.id = e.course_id
JOIN lms.app_user u ON u.id = e.user_id
JOIN lms.assignment a ON a.course_id = e.course_id
LEFT JOIN lms.extension x ON x.assignment_id = a.id AND x.user_id = u.id
LEFT JOIN LATERAL (
  SELECT s.attempt, s.submitted_at, s.late, s.days_late
  FROM lms.submission s
  WHERE s.assignment_id = a.id AND s.student_id = u.id
  ORDER BY s.attempt DESC LIMIT 1) l ON true
LEFT JOIN LATERAL (
  SELECT s.id AS submission_id, s.attempt, g.raw_score, g.penalty_pct,
         g.final_score, g.graded_at
  FROM lms.submission s JOIN lms.grade g ON g.submission_id = s.id
  WHERE s.assignment_id = a.id AND s.student_id = u.id
  ORDER BY s.attempt DESC LIMIT 1) k ON true
WHERE e.role = 'student';

-- ----------------------------------------------------------- late/missing

-- Open assignments (opens_at <= now) whose latest attempt was late, or
-- with no submission and past the student's effective due time (the
-- extension's, else the assignment's): progress's late and missing.
-- closed: the effective cut-off has passed, no submission is accepted.
CREATE VIEW lms.report_late_missing WITH (security_barrier) AS
SELECT g.course_id, g.course, g.student_id, g.student, g.display_name,
       g.assignment_id, g.assignment,
       CASE WHEN g.submitted THEN 'late' ELSE 'missing' END AS status,
       g.due_at, g.effective_due_at, g.effective_cutoff_at, g.extended,
       g.effective_cutoff_at IS NOT NULL AND g.effective_cutoff_at < now()
         AS closed,
       g.attempts, g.last_submitted_at, g.days_late,
       CASE WHEN g.submitted THEN NULL ELSE now() - g.effective_due_at END
         AS overdue_by
FROM lms.report_gradebook g
WHERE g.opens_at <= now()
  AND ((g.submitted AND g.late)
       OR (NOT g.submitted AND g.effective_due_at < now()));

-- --------------------------------------------------------------- progress

-- One row per student enrollment (also in a course without assignments),
-- over the assignments already open, exactly as read_progress.c:
--   done + due + missing = assignments; late among done;
--   level NULL when nothing is graded, else beginner below 70,
--     intermediate below 85, advanced from 85 on;
--   recent: the last (up to) 5 normalized counted grades by the
--     assignment's own due time (then id), oldest first, two decimals;
--   trend (k = |recent| >= 3, else NULL): with A = r(k-1) + rk,
--     B = r1 + ... + r(k-2), m = k - 2, d = A/2 - B/m: improving when
--     d > 5, declining when d < -5, else steady -- in exact numeric as
--     A*m - 2*B against 10*m.
CREATE VIEW lms.report_progress WITH (security_barrier) AS
WITH open_work AS (
  SELECT g.*,
         CASE WHEN g.final_score IS NOT NULL THEN
           row_number() OVER (PARTITION BY g.course_id, g.student_id,
                                           g.final_score IS NOT NULL
                              ORDER BY g.due_at DESC, g.assignment_id DESC)
         END AS graded_rank
  FROM lms.report_gradebook g
  WHERE g.opens_at <= now()),
per_student AS (
  SELECT w.course_id, w.student_id,
         count(*) AS assignments,
         count(*) FILTER (WHERE w.submitted) AS done,
         count(*) FILTER (WHERE NOT w.submitted
                          AND w.effective_due_at >= now()) AS due,
         count(*) FILTER (WHERE NOT w.submitted
                          AND w.effective_due_at < now()) AS missing,
         count(*) FILTER (WHERE w.submitted AND w.late) AS late,
         count(w.final_score) AS graded,
         round(avg(w.final_score * 100 / w.max_points), 2) AS average,
         array_agg(w.normalized ORDER BY w.due_at, w.assignment_id)
           FILTER (WHERE w.graded_rank <= 5) AS recent,
         count(*) FILTER (WHERE w.graded_rank <= 5) AS k,
         sum(w.normalized) FILTER (WHERE w.graded_rank <= 2) AS a_sum,
         sum(w.normalized) FILTER (WHERE w.graded_rank BETWEEN 3 AND 5)
           AS b_sum
  FROM open_work w
  GROUP BY w.course_id, w.student_id)
SELECT c.id AS course_id, c.code AS course, u.id AS student_id,
       u.username AS student, u.display_name,
       COALESCE(p.assignments, 0) AS assignments,
       COALESCE(p.done, 0) AS done,
       COALESCE(p.due, 0) AS due,
       COALESCE(p.missing, 0) AS missing,
       COALESCE(p.late, 0) AS late,
       COALESCE(p.graded, 0) AS graded,
       p.average,
       CASE WHEN p.average IS NULL THEN NULL
            WHEN p.average < 70 THEN 'beginner'
            WHEN p.average < 85 THEN 'intermediate'
            ELSE 'advanced' END AS level,
       COALESCE(p.recent, '{}'::numeric[]) AS recent,
       CASE WHEN COALESCE(p.k, 0) < 3 THEN NULL
            WHEN p.a_sum * (p.k - 2) - 2 * p.b_sum > 10 * (p.k - 2)
              THEN 'improving'
            WHEN p.a_sum * (p.k - 2) - 2 * p.b_sum < -10 * (p.k - 2)
              THEN 'declining'
            ELSE 'steady' END AS trend
FROM lms.enrollment e
JOIN lms.course c ON c.id = e.course_id
JOIN lms.app_user u ON u.id = e.user_id
LEFT JOIN per_student p ON p.course_id = e.course_id
  AND p.student_id = e.user_id
WHERE e.role = 'student';

-- ------------------------------------------------------------ class stats

-- One row per course, as read_stats: the students' averages (the
-- gradebook's average of each student with a counted grade) give mean
-- (rounded half up), median (the mean of the middle two, rounded half
-- up, for an even count), high, low and the letters A >= 90, B >= 80,
-- C >= 70, D >= 60, else F. open_questions: status open or claimed.
CREATE VIEW lms.report_class_stats WITH (security_barrier) AS
WITH averages AS (
  SELECT g.course_id, g.student_id,
         round(avg(g.final_score * 100 / g.max_points), 2) AS average
  FROM lms.report_gradebook g
  WHERE g.final_score IS NOT NULL
  GROUP BY g.course_id, g.student_id),
ranked AS (
  SELECT v.*,
         row_number() OVER (PARTITION BY v.course_id ORDER BY v.average)
           AS rn,
         count(*) OVER (PARTITION BY v.course_id) AS n
  FROM averages v),
summary AS (
  SELECT r.course_id,
         count(*) AS graded_students,
         round(avg(r.average), 2) AS mean,
         round(avg(r.average) FILTER (WHERE r.rn IN ((r.n + 1) / 2,
                                                      (r.n + 2) / 2)), 2)
           AS median,
         max(r.average) AS high,
         min(r.average) AS low,
         count(*) FILTER (WHERE r.average >= 90) AS grade_a,
         count(*) FILTER (WHERE r.average >= 80 AND r.average < 90)
           AS grade_b,
         count(*) FILTER (WHERE r.average >= 70 AND r.average < 80)
           AS grade_c,
         count(*) FILTER (WHERE r.average >= 60 AND r.average < 70)
           AS grade_d,
         count(*) FILTER (WHERE r.average < 60) AS grade_f
  FROM ranked r
  GROUP BY r.course_id)
SELECT c.id AS course_id, c.code AS course, c.title,
       (SELECT count(*) FROM lms.enrollment e
        WHERE e.course_id = c.id AND e.role = 'student') AS students,
       COALESCE(s.graded_students, 0) AS graded_students,
       s.mean, s.median, s.high, s.low,
       COALESCE(s.grade_a, 0) AS grade_a,
       COALESCE(s.grade_b, 0) AS grade_b,
       COALESCE(s.grade_c, 0) AS grade_c,
       COALESCE(s.grade_d, 0) AS grade_d,
       COALESCE(s.grade_f, 0) AS grade_f,
       (SELECT count(*) FROM lms.assignment a WHERE a.course_id = c.id)
         AS assignments,
       (SELECT count(*) FROM lms.query q
        WHERE q.course_id = c.id AND q.status IN ('open', 'claimed'))
         AS open_questions
FROM lms.course c
LEFT JOIN summary s ON s.course_id = c.id;

-- One row per assignment. students, submitted, submission_rate
-- (submitted * 100 / students, two decimals; 0 without students), graded
-- and mean (of the exact normalized counted grades, rounded) are
-- read_stats's; median, high, low and the letters go over the counted
-- grades normalized and rounded to two decimals (as shown); late: the
-- latest attempt was late; missing: no submission, past the student's
-- effective due time (whether or not the assignment is open yet).
CREATE VIEW lms.report_assignment_stats WITH (security_barrier) AS
WITH ranked AS (
  SELECT g.assignment_id, g.normalized,
         row_number() OVER (PARTITION BY g.assignment_id
                            ORDER BY g.normalized) AS rn,
         count(*) OVER (PARTITION BY g.assignment_id) AS n
  FROM lms.report_gradebook g
  WHERE g.final_score IS NOT NULL),
spread AS (
  SELECT r.assignment_id,
         round(avg(r.normalized) FILTER (WHERE r.rn IN ((r.n + 1) / 2,
                                                         (r.n + 2) / 2)),
               2) AS median,
         max(r.normalized) AS high,
         min(r.normalized) AS low,
         count(*) FILTER (WHERE r.normalized >= 90) AS grade_a,
         count(*) FILTER (WHERE r.normalized >= 80 AND r.normalized < 90)
           AS grade_b,
         count(*) FILTER (WHERE r.normalized >= 70 AND r.normalized < 80)
           AS grade_c,
         count(*) FILTER (WHERE r.normalized >= 60 AND r.normalized < 70)
           AS grade_d,
         count(*) FILTER (WHERE r.normalized < 60) AS grade_f
  FROM ranked r
  GROUP BY r.assignment_id),
counts AS (
  SELECT g.assignment_id,
         count(*) AS students,
         count(*) FILTER (WHERE g.submitted) AS submitted,
         count(*) FILTER (WHERE g.submitted AND g.late) AS late,
         count(*) FILTER (WHERE NOT g.submitted
                          AND g.effective_due_at < now()) AS missing,
         count(g.final_score) AS graded,
         round(avg(g.final_score * 100 / g.max_points), 2) AS mean
  FROM lms.report_gradebook g
  GROUP BY g.assignment_id)
SELECT c.id AS course_id, c.code AS course, a.id AS assignment_id,
       a.title AS assignment, a.opens_at, a.due_at, a.max_points,
       COALESCE(n.students, 0) AS students,
       COALESCE(n.submitted, 0) AS submitted,
       CASE WHEN COALESCE(n.students, 0) = 0 THEN 0.00
            ELSE round(n.submitted * 100::numeric / n.students, 2) END
         AS submission_rate,
       COALESCE(n.late, 0) AS late,
       COALESCE(n.missing, 0) AS missing,
       COALESCE(n.graded, 0) AS graded,
       n.mean, s.median, s.high, s.low,
       COALESCE(s.grade_a, 0) AS grade_a,
       COALESCE(s.grade_b, 0) AS grade_b,
       COALESCE(s.grade_c, 0) AS grade_c,
       COALESCE(s.grade_d, 0) AS grade_d,
       COALESCE(s.grade_f, 0) AS grade_f
FROM lms.assignment a
JOIN lms.course c ON c.id = a.course_id
LEFT JOIN counts n ON n.assignment_id = a.id
LEFT JOIN spread s ON s.assignment_id = a.id;

-- -------------------------------------------------------------- questions

-- One row per question. The first answer (by time, then id) decides
-- answered_by: 'tutor' when its author is a tutor account, else
-- 'instructor' (the course's instructors and TAs, or an admin); NULL
-- while unanswered. response_time = answered_at - asked_at (the
-- question's answered_at is its first answer's time); waiting = how long
-- an unanswered question has waited, now.
CREATE VIEW lms.report_questions WITH (security_barrier) AS
SELECT q.id AS query_id, c.id AS course_id, c.code AS course,
       st.username AS student, q.addressed_to, q.status,
       q.asked_at, q.answered_at,
       CASE WHEN f.role IS NULL THEN NULL
            WHEN f.role = 'tutor' THEN 'tutor'
            ELSE 'instructor' END AS answered_by,
       f.username AS first_answer_by,
       (SELECT count(*) FROM lms.answer n WHERE n.query_id = q.id)
         AS answers,
       q.answered_at - q.asked_at AS response_time,
       CASE WHEN q.answered_at IS NULL THEN now() - q.asked_at END
         AS waiting
FROM lms.query q
JOIN lms.course c ON c.id = q.course_id
JOIN lms.app_user st ON st.id = q.student_id
LEFT JOIN LATERAL (
  SELECT u.username, u.role
  FROM lms.answer an JOIN lms.app_user u ON u.id = an.author_id
  WHERE an.query_id = q.id
  ORDER BY an.answered_at, an.id LIMIT 1) f ON true;

-- Per course and answerer ('tutor', 'instructor', or 'unanswered'): how
-- many questions, how many were addressed to the tutor and to the
-- instructors, and response times (mean, median, min, max); for the
-- unanswered ones the longest wait so far.
CREATE VIEW lms.report_tutor_vs_instructors WITH (security_barrier) AS
SELECT q.course_id, q.course,
       COALESCE(q.answered_by, 'unanswered') AS answered_by,
       count(*) AS questions,
       count(*) FILTER (WHERE q.addressed_to = 'tutor') AS to_tutor,
       count(*) FILTER (WHERE q.addressed_to = 'instructor')
         AS to_instructor,
       avg(q.response_time) AS mean_response,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY q.response_time)
         AS median_response,
       min(q.response_time) AS min_response,
       max(q.response_time) AS max_response,
       max(q.waiting) AS longest_waiting
FROM lms.report_questions q
GROUP BY q.course_id, q.course, COALESCE(q.answered_by, 'unanswered');

-- One row per material (also never cited): the citations ([S1], ...) in
-- answers by tutor accounts -- how many, in how many answers, how many
-- distinct chunks, the latest -- and, apart, citations in people's
-- answers. A source without a material (material_id NULL) is in no row.
CREATE VIEW lms.report_tutor_sources WITH (security_barrier) AS
SELECT c.id AS course_id, c.code AS course, m.id AS material_id,
       m.title, m.topic, m.kind,
       count(s.answer_id) FILTER (WHERE s.by_tutor) AS tutor_citations,
       count(DISTINCT s.answer_id) FILTER (WHERE s.by_tutor)
         AS tutor_answers,
       count(DISTINCT s.chunk_no) FILTER (WHERE s.by_tutor)
         AS chunks_cited,
       max(s.answered_at) FILTER (WHERE s.by_tutor) AS last_cited_at,
       count(s.answer_id) FILTER (WHERE NOT s.by_tutor) AS staff_citations
FROM lms.material m
JOIN lms.course c ON c.id = m.course_id
LEFT JOIN (
  SELECT src.material_id, src.answer_id, src.chunk_no, an.answered_at,
         u.role = 'tutor' AS by_tutor
  FROM lms.answer_source src
  JOIN lms.answer an ON an.id = src.answer_id
  JOIN lms.app_user u ON u.id = an.author_id) s ON s.material_id = m.id
GROUP BY c.id, c.code, m.id, m.title, m.topic, m.kind;

-- -------------------------------------------------------------- freshness

-- How fresh this node's data is: the node, its applied index (every
-- applied entry, LMS or not, the same on every node once caught up), the
-- schema version, and the latest time stamped into the LMS tables by an
-- applied change (accounts, password changes, logins, courses,
-- enrollments, assignments, extensions, submissions, grades, materials,
-- questions, answers, migrations). A lower bound: changes that stamp no
-- time (logouts, tutor claims, refused commands) do not move it.
CREATE VIEW lms.report_freshness WITH (security_barrier) AS
SELECT (SELECT i.node_id FROM raft.node_identity i) AS node_id,
       (SELECT i.cluster FROM raft.node_identity i) AS cluster,
       (SELECT r.last_applied FROM raft.applied r) AS applied_index,
       (SELECT max(m.version) FROM lms_meta.schema_migration m)
         AS schema_version,
       t.latest_change,
       now() AS now,
       now() - t.latest_change AS since_latest_change
FROM (SELECT greatest(
        (SELECT max(created_at) FROM lms.app_user),
        (SELECT max(password_changed_at) FROM lms.app_user),
        (SELECT max(created_at) FROM lms.session),
        (SELECT max(created_at) FROM lms.course),
        (SELECT max(enrolled_at) FROM lms.enrollment),
        (SELECT max(created_at) FROM lms.assignment),
        (SELECT max(granted_at) FROM lms.extension),
        (SELECT max(submitted_at) FROM lms.submission),
        (SELECT max(graded_at) FROM lms.grade),
        (SELECT max(uploaded_at) FROM lms.material),
        (SELECT max(asked_at) FROM lms.query),
        (SELECT max(answered_at) FROM lms.answer),
        (SELECT max(applied_at) FROM lms_meta.schema_migration))
        AS latest_change) t;

-- ------------------------------------------------------------------ access

GRANT USAGE ON SCHEMA lms TO PUBLIC;
GRANT SELECT ON lms.report_gradebook, lms.report_late_missing,
  lms.report_progress, lms.report_class_stats, lms.report_assignment_stats,
  lms.report_questions, lms.report_tutor_vs_instructors,
  lms.report_tutor_sources, lms.report_freshness TO PUBLIC;
