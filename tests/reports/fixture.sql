-- tests/reports/fixture.sql -- the data of the reports tests (report_test.c),
-- on a fresh database holding sql/001_raft.sql, lms_meta and the LMS
-- migrations. Plain SQL, so it also loads with psql for a look by hand.
--
-- Times are relative to the moment the fixture is loaded (base = now(),
-- whole seconds, kept in the session setting rt.base): pg_temp.at('-5
-- days') is base minus five days. The views read now() and the service's
-- reads get the same instant, so "due" and "missing" hold whenever the
-- test runs.
--
--   users    1 admin  2 ins1, 3 ins2 (instructors)  4 ta1 (student account,
--            TA of R101)  5 alice  6 bob  7 carol  8 erin  9 tutor (tutor
--            account)  20..28 eve frank gina hank ivy jack lee mo nia
--            30 gus
--   courses  100 R101: ins1 instructor, ta1 TA, alice bob carol erin
--            400 D404: ins2 instructor, eve..nia (boundaries of
--                tests/svc_read/test_progress.c)
--            500 E505: nobody enrolled, one assignment
--            600 F606: alice only, no assignment
--            700 G707: ins1 instructor, gus; seven assignments whose ids
--                are not in due order (76 is due first)
--   R101 assignments (opens / due / cut-off in days from base, points):
--            10 Intro essay  -60 / -50 / none, 100
--            11 Sorting      -55 / -40 / -35, 50, 10 %/day, floor 50
--            12 Graphs       -30 / -20 / none, 20
--            13 Dynamic programming -15 / -5 / +3, 100, 10 %/day; carol's
--               extension to +5 (cut-off +10)
--            14 Final project -10 / +5 / none, 12.5
--            15 Future       +10 / +20 (not open yet), 10
--   D404     40..44 open since -100, due -90 -80 -70 -60 -50, 100 each
--   E505     50 Lonely -10 / +10
--   G707     70..75 due -70 -60 -50 -40 -30 -20, 76 due -80; all open
--            since -100, 100 points each
--   counted grades (normalized):
--            alice 10: 80 | 11: att 1 30/50 (60), att 2 late 2 days,
--                  ungraded | 12: 19/20 (95) | 13: 90 | 14: ungraded
--            bob   10: 95 | 11: 44/50 (88) | 12: 14/20 (70) | 13: 1 day
--                  late, 70 -> 63
--            carol 10: 50 | 12: 11/20 (55)     erin: nothing
--            ins1  10: graded 10 (a staff test run: never counted)
--            D404  eve 90 90 90 95 95 (44 is attempt 2; attempt 1 was
--                  graded 50) | frank 80 70 70 70 | gina 70 75 75.02 |
--                  hank 85 | ivy 70 70.01 | jack 69.99 | lee 60 |
--                  mo 59.99 | nia 44 submitted, ungraded
--            G707  gus, by due time: 100 (76) 100 50 50 50 60 60: the last
--                  five are 50 50 50 60 60 (improving); by id they would
--                  be 50 50 60 60 100, and all seven decline
--   questions (asked, answered after):
--            601 alice R101 to instructor, open, -1 day
--            602 alice R101 to tutor, tutor after 1 min, cites 301#1 302#0
--            603 bob   R101 to tutor, claimed, -2 h
--            604 bob   R101 to instructor, ins1 after 1 h (ta1 follows up)
--            605 carol R101 to tutor, tutor after 3 min, cites 301#0
--                301#2 303#0
--            606 carol R101 to tutor, ta1 after 2 h, cites 304#0
--            607 erin  R101 to tutor, tutor after 2 min, cites a source
--                without a material
--            608 eve   D404 to instructor, ins2 after 30 min
--            609 eve   D404 to tutor, open, -1 h
--   materials 301 Sorting algorithms, 302 Graph traversal, 303 Dynamic
--            programming, 304 Hash tables, 305 Shortest paths (R101);
--            401 Tables (D404)
--   latest stamped change: alice's login, base - 10 min
--   node     3 of cluster "testcluster", applied index 4242, schema 2

SELECT set_config('rt.base', date_trunc('second', now())::text, false);
CREATE FUNCTION pg_temp.at(d text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT current_setting('rt.base')::timestamptz + d::interval
$$;

INSERT INTO raft.node_identity (node_id, cluster) VALUES (3, 'testcluster');
UPDATE raft.applied SET last_applied = 4242;
INSERT INTO lms_meta.schema_migration VALUES
 (1, 'lms_schema', 'x', '', 10, pg_temp.at('-200 days')),
 (2, 'reports', 'x', '', 11, pg_temp.at('-199 days'));

INSERT INTO lms.app_user
SELECT id, name, initcap(name), role, 'scrypt-hash-' || name,
  pg_temp.at('-120 days'), pg_temp.at('-120 days')
FROM (VALUES (1, 'admin', 'admin'), (2, 'ins1', 'instructor'),
  (3, 'ins2', 'instructor'), (4, 'ta1', 'student'), (5, 'alice', 'student'),
  (6, 'bob', 'student'), (7, 'carol', 'student'), (8, 'erin', 'student'),
  (9, 'tutor', 'tutor'), (20, 'eve', 'student'), (21, 'frank', 'student'),
  (22, 'gina', 'student'), (23, 'hank', 'student'), (24, 'ivy', 'student'),
  (25, 'jack', 'student'), (26, 'lee', 'student'), (27, 'mo', 'student'),
  (28, 'nia', 'student'), (30, 'gus', 'student')) v(id, name, role);

INSERT INTO lms.session VALUES
 (sha256('alice-token'::bytea), 5, pg_temp.at('-10 minutes'),
  pg_temp.at('1 day'));

INSERT INTO lms.course VALUES
 (100, 'R101', 'Algorithms', 1, pg_temp.at('-110 days')),
 (400, 'D404', 'Data', 1, pg_temp.at('-110 days')),
 (500, 'E505', 'Empty', 1, pg_temp.at('-110 days')),
 (600, 'F606', 'Fresh', 1, pg_temp.at('-110 days')),
 (700, 'G707', 'Graphs II', 1, pg_temp.at('-110 days'));

INSERT INTO lms.enrollment
SELECT c, u, r, pg_temp.at('-105 days')
FROM (VALUES (100, 2, 'instructor'), (100, 4, 'ta'), (100, 5, 'student'),
  (100, 6, 'student'), (100, 7, 'student'), (100, 8, 'student'),
  (400, 3, 'instructor'), (600, 5, 'student'), (700, 2, 'instructor'),
  (700, 30, 'student')) v(c, u, r);
INSERT INTO lms.enrollment
SELECT 400, id, 'student', pg_temp.at('-105 days')
FROM generate_series(20, 28) id;

INSERT INTO lms.file (id, name, media_type, size, sha256, data)
SELECT id, name, 'text/plain', 5, encode(sha256('bytes'::bytea), 'hex'),
  'bytes'::bytea
FROM (VALUES (901, 'sorting.txt'), (902, 'graphs.txt'), (903, 'dp.txt'),
  (904, 'hashing.txt'), (905, 'paths.txt'), (906, 'tables.txt')) v(id, name);

INSERT INTO lms.assignment
SELECT id, course, title, '', pg_temp.at(opens), pg_temp.at(due),
  pg_temp.at(cutoff), pts, pen, floor_, att, '{}', NULL,
  CASE course WHEN 400 THEN 3 ELSE 2 END, pg_temp.at('-100 days')
FROM (VALUES
 (10, 100, 'Intro essay', '-60 days', '-50 days', NULL, 100, 0, 0, 0),
 (11, 100, 'Sorting', '-55 days', '-40 days', '-35 days', 50, 10, 50, 3),
 (12, 100, 'Graphs', '-30 days', '-20 days', NULL, 20, 0, 0, 0),
 (13, 100, 'Dynamic programming', '-15 days', '-5 days', '3 days', 100, 10,
  0, 0),
 (14, 100, 'Final project', '-10 days', '5 days', NULL, 12.5, 0, 0, 1),
 (15, 100, 'Future', '10 days', '20 days', NULL, 10, 0, 0, 0),
 (40, 400, 'D40', '-100 days', '-90 days', NULL, 100, 0, 0, 0),
 (41, 400, 'D41', '-100 days', '-80 days', NULL, 100, 0, 0, 0),
 (42, 400, 'D42', '-100 days', '-70 days', NULL, 100, 0, 0, 0),
 (43, 400, 'D43', '-100 days', '-60 days', NULL, 100, 0, 0, 0),
 (44, 400, 'D44', '-100 days', '-50 days', NULL, 100, 0, 0, 0),
 (50, 500, 'Lonely', '-10 days', '10 days', NULL, 100, 0, 0, 0),
 (70, 700, 'G70', '-100 days', '-70 days', NULL, 100, 0, 0, 0),
 (71, 700, 'G71', '-100 days', '-60 days', NULL, 100, 0, 0, 0),
 (72, 700, 'G72', '-100 days', '-50 days', NULL, 100, 0, 0, 0),
 (73, 700, 'G73', '-100 days', '-40 days', NULL, 100, 0, 0, 0),
 (74, 700, 'G74', '-100 days', '-30 days', NULL, 100, 0, 0, 0),
 (75, 700, 'G75', '-100 days', '-20 days', NULL, 100, 0, 0, 0),
 (76, 700, 'G76', '-100 days', '-80 days', NULL, 100, 0, 0, 0))
 v(id, course, title, opens, due, cutoff, pts, pen, floor_, att);

INSERT INTO lms.extension VALUES
 (13, 7, pg_temp.at('5 days'), pg_temp.at('10 days'), 2,
  pg_temp.at('-6 days'));

-- (submission, assignment, student, attempt, submitted, late, days late,
--  raw score or NULL, penalty, final score)
CREATE TEMP TABLE work (id bigint, aid bigint, sid bigint, att int,
  at_ text, late bool, days int, raw numeric, pen numeric, final numeric);
INSERT INTO work VALUES
 (101, 10, 5, 1, '-51 days', false, 0, 80, 0, 80),
 (102, 11, 5, 1, '-41 days', false, 0, 30, 0, 30),
 (103, 11, 5, 2, '-38 days', true, 2, NULL, NULL, NULL),
 (104, 12, 5, 1, '-21 days', false, 0, 19, 0, 19),
 (105, 13, 5, 1, '-6 days', false, 0, 90, 0, 90),
 (106, 14, 5, 1, '-1 days', false, 0, NULL, NULL, NULL),
 (111, 10, 6, 1, '-50 days -4 hours', false, 0, 95, 0, 95),
 (112, 11, 6, 1, '-40 days -4 hours', false, 0, 44, 0, 44),
 (113, 12, 6, 1, '-20 days -4 hours', false, 0, 14, 0, 14),
 (114, 13, 6, 1, '-4 days -12 hours', true, 1, 70, 10, 63),
 (121, 10, 7, 1, '-52 days', false, 0, 50, 0, 50),
 (122, 12, 7, 1, '-29 days', false, 0, 11, 0, 11),
 (130, 10, 2, 1, '-55 days', false, 0, 10, 0, 10),
 (2040, 40, 20, 1, '-91 days', false, 0, 90, 0, 90),
 (2041, 41, 20, 1, '-81 days', false, 0, 90, 0, 90),
 (2042, 42, 20, 1, '-71 days', false, 0, 90, 0, 90),
 (2043, 43, 20, 1, '-61 days', false, 0, 95, 0, 95),
 (9044, 44, 20, 1, '-53 days', false, 0, 50, 0, 50),
 (2044, 44, 20, 2, '-51 days', false, 0, 95, 0, 95),
 (2140, 40, 21, 1, '-91 days', false, 0, 80, 0, 80),
 (2141, 41, 21, 1, '-81 days', false, 0, 70, 0, 70),
 (2142, 42, 21, 1, '-71 days', false, 0, 70, 0, 70),
 (2143, 43, 21, 1, '-61 days', false, 0, 70, 0, 70),
 (2240, 40, 22, 1, '-91 days', false, 0, 70, 0, 70),
 (2241, 41, 22, 1, '-81 days', false, 0, 75, 0, 75),
 (2242, 42, 22, 1, '-71 days', false, 0, 75.02, 0, 75.02),
 (2340, 40, 23, 1, '-91 days', false, 0, 85, 0, 85),
 (2440, 40, 24, 1, '-91 days', false, 0, 70, 0, 70),
 (2441, 41, 24, 1, '-81 days', false, 0, 70.01, 0, 70.01),
 (2540, 40, 25, 1, '-91 days', false, 0, 69.99, 0, 69.99),
 (2640, 40, 26, 1, '-91 days', false, 0, 60, 0, 60),
 (2740, 40, 27, 1, '-91 days', false, 0, 59.99, 0, 59.99),
 (2844, 44, 28, 1, '-51 days', false, 0, NULL, NULL, NULL),
 (3076, 76, 30, 1, '-81 days', false, 0, 100, 0, 100),
 (3070, 70, 30, 1, '-71 days', false, 0, 100, 0, 100),
 (3071, 71, 30, 1, '-61 days', false, 0, 50, 0, 50),
 (3072, 72, 30, 1, '-51 days', false, 0, 50, 0, 50),
 (3073, 73, 30, 1, '-41 days', false, 0, 50, 0, 50),
 (3074, 74, 30, 1, '-31 days', false, 0, 60, 0, 60),
 (3075, 75, 30, 1, '-21 days', false, 0, 60, 0, 60);
INSERT INTO lms.submission
SELECT id, aid, sid, att, pg_temp.at(at_), 'work', NULL, late, days FROM work;
INSERT INTO lms.grade
SELECT id, raw, pen, final, 'ok', CASE WHEN aid BETWEEN 40 AND 49 THEN 3 ELSE 2 END,
  pg_temp.at(at_) + interval '1 day'
FROM work WHERE raw IS NOT NULL;
DROP TABLE work;

INSERT INTO lms.material
SELECT id, course, title, topic, 'txt', 0, '', file, 2, pg_temp.at('-70 days')
FROM (VALUES (301, 100, 'Sorting algorithms', 'sorting', 901),
  (302, 100, 'Graph traversal', 'graphs', 902),
  (303, 100, 'Dynamic programming', 'dp', 903),
  (304, 100, 'Hash tables', 'hashing', 904),
  (305, 100, 'Shortest paths', 'graphs', 905),
  (401, 400, 'Tables', 'tables', 906)) v(id, course, title, topic, file);

INSERT INTO lms.query
SELECT id, course, student, addressed_to, 'question ' || id, status,
  pg_temp.at(asked), claimed_by, pg_temp.at(claim_until),
  pg_temp.at(asked) + answered_after::interval
FROM (VALUES
 (601, 100, 5, 'instructor', 'open', '-1 day', NULL, NULL, NULL),
 (602, 100, 5, 'tutor', 'answered', '-5 days', NULL, NULL, '1 minute'),
 (603, 100, 6, 'tutor', 'claimed', '-2 hours', 'tutord-1', '5 minutes', NULL),
 (604, 100, 6, 'instructor', 'answered', '-6 days', NULL, NULL, '1 hour'),
 (605, 100, 7, 'tutor', 'answered', '-4 days', NULL, NULL, '3 minutes'),
 (606, 100, 7, 'tutor', 'answered', '-3 days', NULL, NULL, '2 hours'),
 (607, 100, 8, 'tutor', 'answered', '-2 days', NULL, NULL, '2 minutes'),
 (608, 400, 20, 'instructor', 'answered', '-10 days', NULL, NULL,
  '30 minutes'),
 (609, 400, 20, 'tutor', 'open', '-1 hour', NULL, NULL, NULL))
 v(id, course, student, addressed_to, status, asked, claimed_by, claim_until,
   answered_after);

INSERT INTO lms.answer VALUES
 (701, 602, 9, 'Quicksort picks a pivot [S1] [S2].', pg_temp.at('-5 days') + interval '1 minute'),
 (702, 604, 2, 'Yes, until Friday.', pg_temp.at('-6 days') + interval '1 hour'),
 (703, 604, 4, 'And mind the cut-off.', pg_temp.at('-5 days')),
 (704, 605, 9, 'See [S1] [S2] [S3].', pg_temp.at('-4 days') + interval '3 minutes'),
 (705, 606, 4, 'Chaining [S1].', pg_temp.at('-3 days') + interval '2 hours'),
 (706, 607, 9, 'From the notes [S1].', pg_temp.at('-2 days') + interval '2 minutes'),
 (707, 608, 3, 'Normal forms.', pg_temp.at('-10 days') + interval '30 minutes');

INSERT INTO lms.answer_source VALUES
 (701, 1, 'S1', 301, 1, 2, 'Sorting algorithms'),
 (701, 2, 'S2', 302, 0, 0, 'Graph traversal'),
 (704, 1, 'S1', 301, 0, 1, 'Sorting algorithms'),
 (704, 2, 'S2', 301, 2, 3, 'Sorting algorithms'),
 (704, 3, 'S3', 303, 0, 1, 'Dynamic programming'),
 (705, 1, 'S1', 304, 0, 0, 'Hash tables'),
 (706, 1, 'S1', NULL, NULL, NULL, 'Lecture notes (external)');
