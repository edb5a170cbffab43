-- 001_lms_schema.sql -- the LMS data model.
--
-- Applied through the Raft log (lms-migrate up), inside the apply
-- transaction, at the same log index on every node. Rules for this and
-- every later migration:
--   * every table has a primary key (snapshots and checksums order rows by
--     it) and lives in schema lms;
--   * no sequences, no defaults that read the clock or a random source:
--     ids are the log index of the creating entry, times come from the
--     command (stamped by the leader);
--   * generated columns are fine (they are recomputed, not copied, when a
--     snapshot is installed).
CREATE SCHEMA lms;

-- Canonical wire form of a time: ISO-8601 UTC, milliseconds only when
-- non-zero. IMMUTABLE because the output does not depend on the session
-- (it always converts to UTC explicitly).
CREATE FUNCTION lms.iso(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN extract(microseconds FROM t AT TIME ZONE 'UTC')::bigint % 1000000 = 0
              THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
              ELSE to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END
$$;

-- Milliseconds since the epoch.
CREATE FUNCTION lms.ms(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT (extract(epoch FROM t) * 1000)::bigint
$$;

CREATE TABLE lms.app_user (
  id            bigint PRIMARY KEY,
  username      text NOT NULL UNIQUE,
  display_name  text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'instructor', 'student', 'tutor')),
  password_hash text NOT NULL,          -- scrypt, computed by the proposer
  created_at    timestamptz NOT NULL,
  password_changed_at timestamptz NOT NULL
);

-- Login sessions: only the SHA-256 of the token is stored.
CREATE TABLE lms.session (
  token_hash  bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  user_id     bigint NOT NULL REFERENCES lms.app_user (id),
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX session_user_idx ON lms.session (user_id);

-- Uploaded files (assignment attachments, submissions, materials).
CREATE TABLE lms.file (
  id          bigint PRIMARY KEY,
  name        text NOT NULL,
  media_type  text NOT NULL,
  size        bigint NOT NULL CHECK (size >= 0),
  sha256      text NOT NULL,
  data        bytea NOT NULL
);

CREATE TABLE lms.course (
  id          bigint PRIMARY KEY,
  code        text NOT NULL UNIQUE,
  title       text NOT NULL,
  created_by  bigint NOT NULL REFERENCES lms.app_user (id),
  created_at  timestamptz NOT NULL
);

CREATE TABLE lms.enrollment (
  course_id   bigint NOT NULL REFERENCES lms.course (id),
  user_id     bigint NOT NULL REFERENCES lms.app_user (id),
  role        text NOT NULL CHECK (role IN ('instructor', 'ta', 'student')),
  enrolled_at timestamptz NOT NULL,
  PRIMARY KEY (course_id, user_id)
);
CREATE INDEX enrollment_user_idx ON lms.enrollment (user_id);

CREATE TABLE lms.assignment (
  id                bigint PRIMARY KEY,
  course_id         bigint NOT NULL REFERENCES lms.course (id),
  title             text NOT NULL,
  description       text NOT NULL,
  opens_at          timestamptz NOT NULL,
  due_at            timestamptz NOT NULL,
  cutoff_at         timestamptz,           -- NULL: no cut-off
  max_points        numeric(10,2) NOT NULL CHECK (max_points > 0),
  late_penalty_pct  numeric(5,2) NOT NULL CHECK (late_penalty_pct BETWEEN 0 AND 100),
  penalty_floor_pct numeric(5,2) NOT NULL CHECK (penalty_floor_pct BETWEEN 0 AND 100),
  max_attempts      integer NOT NULL CHECK (max_attempts >= 0),   -- 0: unlimited
  topics            text[] NOT NULL,
  attachment_id     bigint REFERENCES lms.file (id),
  created_by        bigint NOT NULL REFERENCES lms.app_user (id),
  created_at        timestamptz NOT NULL,
  CHECK (due_at >= opens_at),
  CHECK (cutoff_at IS NULL OR cutoff_at >= due_at)
);
CREATE INDEX assignment_course_idx ON lms.assignment (course_id);

CREATE TABLE lms.extension (
  assignment_id bigint NOT NULL REFERENCES lms.assignment (id),
  user_id       bigint NOT NULL REFERENCES lms.app_user (id),
  due_at        timestamptz NOT NULL,
  cutoff_at     timestamptz,
  granted_by    bigint NOT NULL REFERENCES lms.app_user (id),
  granted_at    timestamptz NOT NULL,
  PRIMARY KEY (assignment_id, user_id)
);

CREATE TABLE lms.submission (
  id            bigint PRIMARY KEY,
  assignment_id bigint NOT NULL REFERENCES lms.assignment (id),
  student_id    bigint NOT NULL REFERENCES lms.app_user (id),
  attempt       integer NOT NULL CHECK (attempt >= 1),
  submitted_at  timestamptz NOT NULL,
  body          text NOT NULL,            -- "" when only a file
  file_id       bigint REFERENCES lms.file (id),
  late          boolean NOT NULL,
  days_late     integer NOT NULL CHECK (days_late >= 0),
  UNIQUE (assignment_id, student_id, attempt)
);
CREATE INDEX submission_student_idx ON lms.submission (student_id);

-- One grade per submission; regrading replaces it. Only the latest
-- attempt of a student is graded.
CREATE TABLE lms.grade (
  submission_id bigint PRIMARY KEY REFERENCES lms.submission (id),
  raw_score     numeric(10,2) NOT NULL CHECK (raw_score >= 0),
  penalty_pct   numeric(5,2) NOT NULL CHECK (penalty_pct BETWEEN 0 AND 100),
  final_score   numeric(10,2) NOT NULL CHECK (final_score >= 0),
  feedback      text NOT NULL,
  grader_id     bigint NOT NULL REFERENCES lms.app_user (id),
  graded_at     timestamptz NOT NULL
);

CREATE TABLE lms.material (
  id          bigint PRIMARY KEY,
  course_id   bigint NOT NULL REFERENCES lms.course (id),
  title       text NOT NULL,
  topic       text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('pdf', 'txt')),
  pages       integer NOT NULL CHECK (pages >= 0),
  warning     text NOT NULL,            -- "" when none
  file_id     bigint NOT NULL REFERENCES lms.file (id),
  uploaded_by bigint NOT NULL REFERENCES lms.app_user (id),
  uploaded_at timestamptz NOT NULL
);
CREATE INDEX material_course_idx ON lms.material (course_id);

-- Text of a material cut into chunks for the tutor's retrieval.
CREATE TABLE lms.material_chunk (
  material_id bigint NOT NULL REFERENCES lms.material (id),
  chunk_no    integer NOT NULL,
  page        integer NOT NULL,         -- first page (1-based), 0 for text files
  body        text NOT NULL,
  tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, body)) STORED,
  PRIMARY KEY (material_id, chunk_no)
);
CREATE INDEX material_chunk_tsv_idx ON lms.material_chunk USING gin (tsv);

CREATE TABLE lms.query (
  id               bigint PRIMARY KEY,
  course_id        bigint NOT NULL REFERENCES lms.course (id),
  student_id       bigint NOT NULL REFERENCES lms.app_user (id),
  addressed_to     text NOT NULL CHECK (addressed_to IN ('tutor', 'instructor')),
  body             text NOT NULL,
  status           text NOT NULL CHECK (status IN ('open', 'claimed', 'answered')),
  asked_at         timestamptz NOT NULL,
  claimed_by       text,                -- tutor process (worker) name
  claim_expires_at timestamptz,
  answered_at      timestamptz
);
CREATE INDEX query_course_idx ON lms.query (course_id, status);

CREATE TABLE lms.answer (
  id          bigint PRIMARY KEY,
  query_id    bigint NOT NULL REFERENCES lms.query (id),
  author_id   bigint NOT NULL REFERENCES lms.app_user (id),
  body        text NOT NULL,
  answered_at timestamptz NOT NULL
);
CREATE INDEX answer_query_idx ON lms.answer (query_id);

-- The material chunks an answer cites ([S1], [S2], ...).
CREATE TABLE lms.answer_source (
  answer_id   bigint NOT NULL REFERENCES lms.answer (id),
  n           integer NOT NULL,
  label       text NOT NULL,
  material_id bigint REFERENCES lms.material (id),
  chunk_no    integer,
  page        integer,
  title       text NOT NULL,
  PRIMARY KEY (answer_id, n)
);
