/*
 * prompt.h -- what tutord says to the model: the level of the student, the
 * prompt built around the retrieved material, and the citation filter
 * applied to the answer before it is stored.
 *
 * Why this exists
 * ---------------
 * The prompt is where the tutor's promises are kept or broken: the model
 * must answer at the student's level, from the course's material, citing
 * it as [S1].., and must not obey instructions hidden in an uploaded
 * material. Everything here is a pure function of its inputs (the random
 * delimiter bytes are an argument), so the tests can check the templates,
 * the delimiters and the filter exactly. docs/tutor.md has the formula and
 * the templates in prose; the code below is the reference.
 *
 * Ownership
 * ---------
 * Inputs are borrowed for the call. A struct tutor_prompt owns its strings
 * and its source array; release it with tutor_prompt_free. Strings
 * returned by tutor_citations_filter are malloc'd and owned by the caller.
 *
 * Errors
 * ------
 * 0 or a negative errno (-ENOMEM, -EINVAL, -EAGAIN when the random bytes
 * given make a delimiter that occurs in the material: draw again).
 */
#ifndef LMS_TUTOR_PROMPT_H
#define LMS_TUTOR_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ level */

enum tutor_level {
	TUTOR_LEVEL_BEGINNER = 0,
	TUTOR_LEVEL_INTERMEDIATE = 1,
	TUTOR_LEVEL_ADVANCED = 2,
};

/* "beginner", "intermediate", "advanced". */
const char *tutor_level_name(enum tutor_level l);

/*
 * The student's level in a course from their recent normalized scores
 * (0..100, oldest first, as Progress.recent gives them: the last up to 5
 * graded assignments) and, when recent is empty, their overall average
 * (graded > 0) -- recency-weighted:
 *
 *     s = sum(i * r_i) / sum(i),  i = 1 (oldest) .. k (newest)
 *
 * so the newest grade counts k times as much as the oldest. Then
 * s < 70 beginner, 70 <= s < 85 intermediate, s >= 85 advanced (the same
 * bands as Progress.level). Nothing graded (k = 0 and graded = 0):
 * intermediate.
 */
enum tutor_level tutor_level_from_scores(const double *recent, size_t k,
                                         unsigned graded, double average);

/*
 * The topic a question is about, among the topics the student has graded
 * work in (topics[0..n_topics), Progress.topics): first one whose name
 * occurs in the question as a whole word or phrase (ASCII letters compared
 * without case; in the order of topics); else the topic of the
 * best-ranked retrieved chunk (chunk_topics[0..n_chunks), the chunks'
 * material topics, best first; "" or NULL for none) that is one of them
 * (compared without case). Returns the index into topics, or -1.
 */
int tutor_topic_pick(const char *question, const char *const *chunk_topics,
                     size_t n_chunks, const char *const *topics,
                     size_t n_topics);

/* Longest topic name quoted in the prompt (bytes); longer ones are cut. */
#define TUTOR_TOPIC_MAX 60

/* ----------------------------------------------------------- prompt */

/* One retrieved chunk (MaterialChunk); strings borrowed. */
struct tutor_chunk {
	uint64_t material_id;
	uint32_t chunk;
	uint32_t page;     /* 1-based first page; 0 = a text file */
	const char *title;
	const char *text;
};

/* A source label given to the model: "S1" is chunks[0], ... */
struct tutor_source {
	char label[16];
	uint64_t material_id;
	uint32_t chunk;
	uint32_t page;
	char *title; /* owned */
};

#define TUTOR_DELIM_RANDOM_BYTES 16
/* "MATERIAL-" + 32 hex digits + NUL */
#define TUTOR_DELIM_MAX 48

struct tutor_prompt_in {
	const char *course;   /* course code */
	const char *question; /* the student's question */
	enum tutor_level level;
	const char *topic;    /* the level is the one in this topic; NULL:
	                         the course overall */
	const struct tutor_chunk *chunks; /* best first */
	size_t n_chunks;
};

struct tutor_prompt {
	char *system;     /* owned */
	char *user;       /* owned */
	char delim[TUTOR_DELIM_MAX];
	struct tutor_source *sources; /* owned, n_sources */
	size_t n_sources;
};

/*
 * Build the two messages. rnd: TUTOR_DELIM_RANDOM_BYTES random bytes that
 * make the delimiter "MATERIAL-<hex>". Returns -EAGAIN (nothing allocated)
 * if that delimiter occurs in a title, a chunk text or the question.
 * *out need not be initialised; on error it is left empty.
 */
int tutor_prompt_build(const struct tutor_prompt_in *in,
                       const uint8_t rnd[TUTOR_DELIM_RANDOM_BYTES],
                       struct tutor_prompt *out)
	__attribute__((warn_unused_result));

/* tutor_prompt_build with bytes from getrandom(2), drawn again on
 * -EAGAIN (a few times). */
int tutor_prompt_build_random(const struct tutor_prompt_in *in,
                              struct tutor_prompt *out)
	__attribute__((warn_unused_result));

void tutor_prompt_free(struct tutor_prompt *p);

/* The level templates (for the tests and docs/tutor.md). */
const char *tutor_level_template(enum tutor_level l);

/* -------------------------------------------------------- citations */

/*
 * Remove citations of labels that were not given. A citation is a
 * bracketed list of labels "[S2]", "[S1, S3]" or "[S1; S3]" (blanks
 * allowed after the separators). Labels S1..S<n_given> are kept, others
 * are dropped; a citation left with no label is removed together with one
 * blank before it. Anything else in brackets is left alone.
 *
 * Returns the filtered text (malloc'd) or NULL on allocation failure.
 * used (may be NULL), an array of n_given booleans: set for every given
 * label cited at least once (others left unchanged).
 */
char *tutor_citations_filter(const char *answer, size_t n_given, bool *used);

#endif
