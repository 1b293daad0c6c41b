/*
 * gavel.h: write gavel judge plugins in C.
 *
 * A judge defines two functions, gavel_describe and gavel_evaluate, and
 * includes this header:
 *
 *     #include "gavel.h"
 *
 *     void gavel_describe(gavel_description *d) {
 *         d->name = "polite";
 *         d->version = "1.0.0";
 *         d->description = "The response is polite.";
 *         d->required_inputs[0] = GAVEL_REQUEST;
 *         d->required_inputs[1] = GAVEL_RESPONSE;
 *     }
 *
 *     gavel_status gavel_evaluate(const gavel_row *row, const gavel_options *options,
 *                                 gavel_assessment *a) {
 *         return gavel_ask_yes_no(a, "Is the response polite?\n{{request}}\n{{response}}");
 *     }
 *
 * `gavel build` compiles it with clang for wasm32-wasi, together with
 * gavel.c and the bindings it generates from gavel's WIT, and makes the
 * component. The host asks the judge LLM on the judge's behalf (rendering
 * the criterion against the row, adding few-shot examples, reading the
 * answer), so a judge holds no prompt text beyond its criterion.
 *
 * Errors: every call that can fail records its error in the assessment and
 * returns a nonzero gavel_status; returning that status from gavel_evaluate
 * makes the evaluation fail with that error:
 *
 *     gavel_status status = gavel_ask_yes_no(a, CRITERION);
 *     if (status != GAVEL_OK) return status;
 *
 * Memory: the judge frees nothing it gets from the SDK. Every string and
 * array the SDK hands the judge (the row, option strings, answers) stays
 * valid until gavel_evaluate returns and is freed by the SDK then. Strings
 * the judge passes in are copied when the SDK keeps them. The host
 * instantiates the component afresh for every evaluation, so no state
 * survives between calls anyway. Running out of memory aborts the
 * evaluation (the host records it as a failure).
 *
 * Strings are NUL-terminated UTF-8. A string that contains U+0000 reads as
 * ending there.
 *
 * What the WIT offers beyond this header (llm.complete, prompt.render) is in
 * the generated "plugin.h", which the build puts on the include path; what
 * those calls return is the judge's to free, with the generated *_free
 * functions.
 */
#ifndef GAVEL_H
#define GAVEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define GAVEL_PRINTF(string_index, first_to_check) \
    __attribute__((__format__(__printf__, string_index, first_to_check)))
#else
#define GAVEL_PRINTF(string_index, first_to_check)
#endif

/* ---------------------------------------------------------------- */
/* Describing the judge                                             */
/* ---------------------------------------------------------------- */

/* What the judge rates: the response (answer) or the retrieved context. */
typedef enum gavel_assessment_type {
    GAVEL_ANSWER = 0,
    GAVEL_RETRIEVAL = 1,
} gavel_assessment_type;

/*
 * Inputs of a row, as bit flags: one entry of required_inputs is satisfied
 * when the row has any of the inputs it names, so
 * GAVEL_EXPECTED_RESPONSE | GAVEL_EXPECTED_FACTS means either.
 */
enum {
    GAVEL_REQUEST = 1 << 0,
    GAVEL_RESPONSE = 1 << 1,
    GAVEL_EXPECTED_RESPONSE = 1 << 2,
    GAVEL_EXPECTED_FACTS = 1 << 3,
    GAVEL_RETRIEVED_CONTEXT = 1 << 4,
    GAVEL_EXPECTED_RETRIEVED_CONTEXT = 1 << 5,
    GAVEL_GUIDELINES = 1 << 6,
    GAVEL_GLOBAL_GUIDELINES = 1 << 7,
    GAVEL_TRACE = 1 << 8,
};

/* There are nine inputs, so nine entries are as many as can mean anything. */
#define GAVEL_MAX_REQUIRED_INPUTS 9
#define GAVEL_MAX_ENDPOINTS 8

/*
 * What the host needs to know before it runs the judge. gavel_describe gets
 * it zeroed; the strings are copied, so literals are the usual choice.
 */
typedef struct gavel_description {
    /* Name in outputs: lowercase letters, digits and `_`. */
    const char *name;
    /* Semantic version; part of the response cache key. */
    const char *version;
    const char *description;
    /* GAVEL_ANSWER unless set. */
    gavel_assessment_type assessment_type;
    /*
     * Every entry must be satisfied for the judge to run on a row; the
     * first zero entry ends the list.
     */
    unsigned required_inputs[GAVEL_MAX_REQUIRED_INPUTS];
    /*
     * Endpoint aliases the judge asks by name (gavel_question.endpoint),
     * besides its configured endpoint; the first NULL ends the list. Each
     * must be granted in the judge's configuration.
     */
    const char *endpoints[GAVEL_MAX_ENDPOINTS];
} gavel_description;

/* ---------------------------------------------------------------- */
/* The row and the options                                          */
/* ---------------------------------------------------------------- */

typedef enum gavel_role {
    GAVEL_ROLE_SYSTEM,
    GAVEL_ROLE_USER,
    GAVEL_ROLE_ASSISTANT,
    GAVEL_ROLE_TOOL,
} gavel_role;

typedef struct gavel_message {
    gavel_role role;
    const char *content;
} gavel_message;

/* A retrieved (or expected) chunk; either field is NULL when missing. */
typedef struct gavel_chunk {
    const char *content;
    const char *doc_uri;
} gavel_chunk;

typedef struct gavel_guideline_group {
    /* NULL for a plain list of guidelines. */
    const char *name;
    const char *const *rules;
    size_t rule_count;
} gavel_guideline_group;

/*
 * One row of the evaluation set. Optional texts are NULL when the row has
 * none; lists have a count (zero when the row has none).
 */
typedef struct gavel_row {
    /* Stable id of the row (its request_id, or its index). */
    const char *request_id;
    /* The request text, or for a conversation the last user message. */
    const char *request;
    const gavel_message *conversation;
    size_t conversation_count;
    const char *response;
    const char *expected_response;
    const char *const *expected_facts;
    size_t expected_fact_count;
    const gavel_chunk *retrieved_context;
    size_t retrieved_context_count;
    const gavel_chunk *expected_retrieved_context;
    size_t expected_retrieved_context_count;
    /* For a judge that requires GAVEL_GUIDELINES: one group per call. */
    const gavel_guideline_group *guidelines;
    size_t guideline_group_count;
    const gavel_guideline_group *global_guidelines;
    size_t global_guideline_group_count;
    /* The row's MLflow trace as JSON text. */
    const char *trace;
    /* Every other field of the input row, as a JSON object. */
    const char *extra;
} gavel_row;

/* How the judge is configured for this run. */
typedef struct gavel_options {
    /*
     * The judge's options, the `config` table of its configuration, as a
     * JSON object; "{}" when there are none. Read it with gavel_option_*.
     */
    const char *json;
    /* The endpoint alias the judge's questions go to. */
    const char *endpoint;
    /* A 1-5 score above this is a yes. */
    uint8_t threshold;
} gavel_options;

/* The JSON type of an option, from gavel_option_type. */
typedef enum gavel_json_type {
    /* The key is not there (or the options are not a JSON object). */
    GAVEL_JSON_ABSENT,
    GAVEL_JSON_NULL,
    GAVEL_JSON_BOOL,
    /* An integer that fits a long long, written without fraction or exponent. */
    GAVEL_JSON_INT,
    /* Any other number. */
    GAVEL_JSON_NUMBER,
    GAVEL_JSON_STRING,
    GAVEL_JSON_ARRAY,
    GAVEL_JSON_OBJECT,
} gavel_json_type;

/*
 * Option readers: the value of top-level `key` of the options, or
 * `fallback` when the key is absent or its value has another type. Use
 * gavel_option_type to tell the two apart (and reject a wrong type with
 * gavel_invalid_config). When a key appears twice the last one counts.
 * Options that are not one JSON object (or nest deeper than 64 levels)
 * read as having no keys.
 */
long long gavel_option_int(const gavel_options *options, const char *key, long long fallback);
bool gavel_option_bool(const gavel_options *options, const char *key, bool fallback);
/* The string decoded (escapes resolved); valid until gavel_evaluate returns. */
const char *gavel_option_string(const gavel_options *options, const char *key,
                                const char *fallback);
gavel_json_type gavel_option_type(const gavel_options *options, const char *key);

/* ---------------------------------------------------------------- */
/* The assessment, and errors                                       */
/* ---------------------------------------------------------------- */

/* What gavel_evaluate returns: GAVEL_OK, or the kind of error. */
typedef enum gavel_status {
    GAVEL_OK = 0,
    /* The row lacks something the judge needs. */
    GAVEL_MISSING_INPUT,
    /* The judge's options are not usable. */
    GAVEL_INVALID_CONFIG,
    /* A request to the judge LLM failed. */
    GAVEL_LLM,
    /* The judge LLM's answer could not be read as a verdict. */
    GAVEL_UNPARSABLE_ANSWER,
    /* Anything else. */
    GAVEL_FAILED,
} gavel_status;

/*
 * The outcome of one evaluation, filled by the calls below. Opaque: the SDK
 * creates it, and turns it into the component's answer once gavel_evaluate
 * returns.
 */
typedef struct gavel_assessment gavel_assessment;

typedef enum gavel_verdict_kind {
    GAVEL_VERDICT_YES,
    GAVEL_VERDICT_NO,
    /* A score from 1 to 5; the host makes it yes when above the threshold. */
    GAVEL_VERDICT_SCORE,
} gavel_verdict_kind;

typedef struct gavel_verdict {
    gavel_verdict_kind kind;
    /* For GAVEL_VERDICT_SCORE. */
    int score;
} gavel_verdict;

/*
 * Verdicts. Each sets the verdict and the rationale (printf-style), clears
 * an error recorded before, and returns GAVEL_OK, so `return gavel_yes(...)`
 * ends the evaluation. Chunks added with gavel_add_chunk are kept.
 */
gavel_status gavel_yes(gavel_assessment *a, const char *rationale, ...) GAVEL_PRINTF(2, 3);
gavel_status gavel_no(gavel_assessment *a, const char *rationale, ...) GAVEL_PRINTF(2, 3);
/*
 * A 1-5 score. The host rejects a score outside 1-5; one that is not even
 * a byte records GAVEL_FAILED here.
 */
gavel_status gavel_score(gavel_assessment *a, long long score, const char *rationale, ...)
    GAVEL_PRINTF(3, 4);
gavel_status gavel_set_verdict(gavel_assessment *a, gavel_verdict verdict, const char *rationale,
                               ...) GAVEL_PRINTF(3, 4);

/*
 * Errors. Each records the error (printf-style message) and returns its
 * status, so `return gavel_failed(a, "...")` fails the evaluation.
 * gavel_missing_input names the input, as in "expected_response".
 */
gavel_status gavel_missing_input(gavel_assessment *a, const char *input, ...) GAVEL_PRINTF(2, 3);
gavel_status gavel_invalid_config(gavel_assessment *a, const char *message, ...)
    GAVEL_PRINTF(2, 3);
gavel_status gavel_unparsable_answer(gavel_assessment *a, const char *answer, ...)
    GAVEL_PRINTF(2, 3);
gavel_status gavel_failed(gavel_assessment *a, const char *message, ...) GAVEL_PRINTF(2, 3);

/*
 * The message of the error last recorded in `a` (an LLM error described in
 * words), or NULL when there is none. Valid until gavel_evaluate returns.
 */
const char *gavel_error_message(const gavel_assessment *a);

/*
 * Retrieval judges that rate chunks themselves: one entry per chunk of
 * retrieved_context, in order. Then set the overall verdict.
 */
void gavel_add_chunk(gavel_assessment *a, gavel_verdict verdict, const char *rationale);
void gavel_add_chunk_error(gavel_assessment *a, const char *message);

/* ---------------------------------------------------------------- */
/* Asking the judge LLM                                             */
/* ---------------------------------------------------------------- */

typedef enum gavel_scale {
    /* Yes (the criterion is met) or no. */
    GAVEL_YES_NO,
    /* 1 (not met at all) to 5 (fully met). */
    GAVEL_ONE_TO_FIVE,
} gavel_scale;

/* How per-chunk verdicts make the overall verdict. */
typedef enum gavel_overall {
    /* Yes when at least one chunk is rated yes. */
    GAVEL_ANY_YES,
    /* Yes only when every chunk is rated yes. */
    GAVEL_ALL_YES,
} gavel_overall;

/*
 * Asks the judge LLM whether the row meets `criterion`, a Handlebars
 * template such as "Is the response polite?\n{{request}}\n{{response}}"
 * that the host renders against the row. Sets the verdict and rationale, or
 * records the error; returns the status.
 */
gavel_status gavel_ask_yes_no(gavel_assessment *a, const char *criterion);
/* The same on a 1-5 scale; the host applies the threshold. */
gavel_status gavel_ask_score(gavel_assessment *a, const char *criterion);
/*
 * Asks `criterion` once per retrieved chunk (the chunk as
 * {{retrieved_context}}) and sets the overall verdict and the per-chunk
 * entries. Fails only when no chunk could be rated.
 */
gavel_status gavel_rate_chunks(gavel_assessment *a, const char *criterion, gavel_scale scale,
                               gavel_overall overall);

/* A variable that adds to or replaces the row's in a criterion. */
typedef struct gavel_variable {
    const char *name;
    const char *value;
} gavel_variable;

/* A question in full, for gavel_ask. */
typedef struct gavel_question {
    const char *criterion;
    gavel_scale scale;
    const gavel_variable *overrides;
    size_t override_count;
    /* An alias from the description's endpoints; NULL for the configured one. */
    const char *endpoint;
} gavel_question;

typedef struct gavel_answer {
    gavel_verdict verdict;
    /* Valid until gavel_evaluate returns. */
    const char *rationale;
    uint32_t input_tokens;
    uint32_t output_tokens;
} gavel_answer;

/*
 * Asks a question and fills `answer` without touching the verdict of `a`;
 * on failure records the error in `a` and returns its status.
 */
gavel_status gavel_ask(gavel_assessment *a, const gavel_question *question, gavel_answer *answer);

/* ---------------------------------------------------------------- */
/* Logging                                                          */
/* ---------------------------------------------------------------- */

typedef enum gavel_log_level {
    GAVEL_LOG_TRACE,
    GAVEL_LOG_DEBUG,
    GAVEL_LOG_INFO,
    GAVEL_LOG_WARN,
    GAVEL_LOG_ERROR,
} gavel_log_level;

/* A message for the host's log, tagged with the judge's name (printf-style). */
void gavel_log(gavel_log_level level, const char *message, ...) GAVEL_PRINTF(2, 3);

/* ---------------------------------------------------------------- */
/* What the judge defines                                           */
/* ---------------------------------------------------------------- */

/* Fills in the description (given zeroed). */
void gavel_describe(gavel_description *description);

/*
 * Judges one row: returns GAVEL_OK with a verdict set in `a`, or the status
 * of an error recorded in `a`.
 */
gavel_status gavel_evaluate(const gavel_row *row, const gavel_options *options,
                            gavel_assessment *a);

#ifdef __cplusplus
}
#endif

#endif /* GAVEL_H */
