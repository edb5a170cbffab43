/*
 * think.h -- incremental stripper of <think>...</think> blocks.
 *
 * Why this exists
 * ---------------
 * Reasoning models such as deepseek-r1 write their chain of thought into
 * the answer, between <think> and </think>. A student must see only the
 * answer, and must see it while it is being generated, so the thinking has
 * to be removed from a stream of arbitrary pieces: a tag may be split
 * across pieces at any byte ("<th" + "ink>"), and we may never show the
 * student a fragment of a tag that later turns out to be one.
 *
 * The rules
 * ---------
 *  - Text inside <think>...</think> is dropped. Blocks nest: an inner
 *    <think> raises the depth and needs its own </think>.
 *  - A missing opening tag: deepseek-r1 often starts thinking without
 *    writing <think> (the chat template already opened it), so everything
 *    before the FIRST </think> is thinking when no <think> came before it.
 *    Consequence: until the first tag is seen, output is held back (it may
 *    turn out to be thinking). A reply with no tag at all is released
 *    whole by ollama_think_finish; ollama_think_release lets a caller that
 *    knows there will be no tags (Ollama sent thinking in its own field)
 *    release it earlier.
 *  - Text before an opening <think> is answer.
 *  - After the first block, a stray </think> outside any block is dropped.
 *  - An unterminated block (the stream ends inside it, e.g. num_predict
 *    was reached) drops everything after its <think>;
 *    ollama_think_unterminated() says so after finish.
 *  - Leading whitespace of the visible output is dropped (models put
 *    "\n\n" after </think>).
 *  - Bytes that may still become a tag are held; at the end of the stream
 *    an incomplete tag ("...</thi") is dropped, never emitted. A '<' that
 *    cannot start a tag ("a < b", "<thin>") is ordinary text.
 *  - Tags are exact and lower case: "<think>" and "</think>".
 *
 * Visible text is passed to an emit callback; one feed emits at most one
 * piece (the visible bytes of that feed, concatenated). Emitted pieces are
 * byte ranges of the input with tags removed, so valid UTF-8 in gives
 * valid UTF-8 out, piece by piece, when the input pieces are whole
 * characters (Ollama's JSON strings always are).
 *
 * Ownership
 * ---------
 * struct ollama_think lives in caller memory; its buffers are heap memory
 * owned by it, released by ollama_think_free. No global state; one
 * stripper per stream.
 *
 * Errors
 * ------
 * 0, -ENOMEM, or the first nonzero value returned by the emit callback
 * (the caller's way to cancel). After an error the stripper should only be
 * freed.
 */
#ifndef LMS_OLLAMA_THINK_H
#define LMS_OLLAMA_THINK_H

#include <stdbool.h>
#include <stddef.h>

/* Called with visible text (len > 0, not NUL-terminated); nonzero stops. */
typedef int (*ollama_emit_fn)(const char *text, size_t len, void *user);

enum ollama_think_state {
	OLLAMA_THINK_UNDECIDED = 0, /* no tag seen yet: output held */
	OLLAMA_THINK_INSIDE,        /* inside a block: output dropped */
	OLLAMA_THINK_OUTSIDE,       /* answer: output emitted */
};

struct ollama_think {
	enum ollama_think_state state;
	unsigned depth;      /* nesting depth while INSIDE */
	char pend[8];        /* a possible tag prefix, starting with '<' */
	size_t npend;
	char *hold;          /* UNDECIDED text, released or dropped later */
	size_t hold_len, hold_cap;
	char *out;           /* visible bytes of the current feed */
	size_t out_len, out_cap;
	bool visible_started; /* a non-blank visible byte was produced */
	bool finished;
	bool unterminated;   /* set by finish: the stream ended in a block */
	int error;           /* sticky first error */
};

void ollama_think_init(struct ollama_think *t);

/* Process p[0..n) (n may be 0); emit its visible text, if any. */
int ollama_think_feed(struct ollama_think *t, const char *p, size_t n,
		      ollama_emit_fn emit, void *user)
	__attribute__((warn_unused_result));

/*
 * The caller knows no tags will come (e.g. Ollama reports thinking in a
 * separate field): if still UNDECIDED, the held text is emitted and the
 * state becomes OUTSIDE. Otherwise a no-op.
 */
int ollama_think_release(struct ollama_think *t, ollama_emit_fn emit,
			 void *user)
	__attribute__((warn_unused_result));

/*
 * End of stream: emits held text if no tag was ever seen, drops an
 * incomplete tag, records whether a block was left open.
 */
int ollama_think_finish(struct ollama_think *t, ollama_emit_fn emit,
			void *user)
	__attribute__((warn_unused_result));

/* After finish: true if the stream ended inside a think block. */
bool ollama_think_unterminated(const struct ollama_think *t);

void ollama_think_free(struct ollama_think *t);

/*
 * Convenience for whole texts: strip s[0..len) in one go into a new
 * NUL-terminated heap string (*out, caller frees; *out_len its length).
 * Returns 0 or -ENOMEM.
 */
int ollama_think_strip(const char *s, size_t len, char **out,
		       size_t *out_len)
	__attribute__((warn_unused_result));

#endif /* LMS_OLLAMA_THINK_H */
