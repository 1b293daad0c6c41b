/*
 * gavel.c: the C SDK over the bindings wit-bindgen generates for world
 * `plugin` (plugin.h, plugin.c). See gavel.h for the judge's side.
 *
 * Ownership follows the canonical ABI as wit-bindgen's C generator lays it
 * out: an export owns its arguments (and frees them), its results are freed
 * by the generated post-return function (only where a string or list has a
 * nonzero length, so an empty one must not own memory), and an import
 * borrows its arguments and hands back results the caller owns. What the
 * judge is given lives in a per-evaluation list of allocations, freed when
 * gavel_evaluate returns.
 */
#include "gavel.h"
#include "plugin.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef exports_gavel_judge_judge_judge_error_t judge_error;

struct gavel_assessment {
    bool has_verdict;
    /* Verdict, rationale and chunks, owned; the component's answer. */
    gavel_judge_types_assessment_t value;
    size_t chunk_capacity;
    bool has_error;
    /* Owned; the component's error. */
    judge_error error;
};

/* ---- Memory ---- */

static void *xmalloc(size_t size) {
    void *memory = malloc(size ? size : 1);
    if (!memory) abort();
    return memory;
}

static void *xrealloc(void *memory, size_t size) {
    memory = realloc(memory, size ? size : 1);
    if (!memory) abort();
    return memory;
}

/* What the judge was handed during this evaluation, freed after it. */
static struct {
    void **items;
    size_t len;
    size_t cap;
} owned;

static void *own(void *memory) {
    if (owned.len == owned.cap) {
        owned.cap = owned.cap ? owned.cap * 2 : 32;
        owned.items = xrealloc(owned.items, owned.cap * sizeof *owned.items);
    }
    owned.items[owned.len++] = memory;
    return memory;
}

static void *owned_alloc(size_t size) {
    return own(xmalloc(size));
}

static void release_owned(void) {
    for (size_t i = 0; i < owned.len; i++) free(owned.items[i]);
    free(owned.items);
    owned.items = NULL;
    owned.len = owned.cap = 0;
}

/* ---- Strings ---- */

/*
 * The host's string as a NUL-terminated one the judge may keep until the
 * evaluation ends: its buffer grows by the terminator (no copy) and leaves
 * `s`, which is emptied so that the generated free functions skip it.
 */
static const char *take(plugin_string_t *s) {
    if (s->len == 0) return "";
    char *text = xrealloc(s->ptr, s->len + 1);
    text[s->len] = '\0';
    s->ptr = NULL;
    s->len = 0;
    return own(text);
}

static const char *take_option(plugin_option_string_t *s) {
    return s->is_some ? take(&s->val) : NULL;
}

/* `text` (malloc'd) into `s`, which owns it; empty strings own nothing. */
static void set_owned(plugin_string_t *s, char *text) {
    s->len = strlen(text);
    if (s->len == 0) {
        free(text);
        s->ptr = NULL;
    } else {
        s->ptr = (uint8_t *)text;
    }
}

static char *copy_n(const char *text, size_t len) {
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    return copy;
}

static void set_copy(plugin_string_t *s, const char *text) {
    text = text ? text : "";
    set_owned(s, copy_n(text, strlen(text)));
}

/* A view of `text` for an import, which borrows its arguments. */
static plugin_string_t borrow(const char *text) {
    text = text ? text : "";
    return (plugin_string_t){(uint8_t *)text, strlen(text)};
}

static char *vformat(const char *format, va_list args) {
    if (!format) return copy_n("", 0);
    va_list measure;
    va_copy(measure, args);
    int len = vsnprintf(NULL, 0, format, measure);
    va_end(measure);
    if (len < 0) {
        static const char unprintable[] = "(the message could not be formatted)";
        return copy_n(unprintable, sizeof unprintable - 1);
    }
    char *text = xmalloc((size_t)len + 1);
    vsnprintf(text, (size_t)len + 1, format, args);
    return text;
}

/* ---- Describing ---- */

static const uint8_t INPUTS[] = {
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_REQUEST,
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_RESPONSE,
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_EXPECTED_RESPONSE,
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_EXPECTED_FACTS,
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_RETRIEVED_CONTEXT,
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_EXPECTED_RETRIEVED_CONTEXT,
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_GUIDELINES,
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_GLOBAL_GUIDELINES,
    EXPORTS_GAVEL_JUDGE_JUDGE_INPUT_TRACE,
};
#define INPUT_COUNT (sizeof INPUTS / sizeof INPUTS[0])

void exports_gavel_judge_judge_describe(exports_gavel_judge_judge_description_t *ret) {
    gavel_description d;
    memset(&d, 0, sizeof d);
    gavel_describe(&d);

    set_copy(&ret->name, d.name);
    set_copy(&ret->version, d.version);
    set_copy(&ret->description, d.description);
    ret->assessment_type = d.assessment_type == GAVEL_RETRIEVAL
                               ? EXPORTS_GAVEL_JUDGE_JUDGE_ASSESSMENT_TYPE_RETRIEVAL
                               : EXPORTS_GAVEL_JUDGE_JUDGE_ASSESSMENT_TYPE_ANSWER;

    /* Entries naming no input a row can have are left out. */
    size_t entries = 0;
    exports_gavel_judge_judge_list_input_t lists[GAVEL_MAX_REQUIRED_INPUTS];
    for (size_t e = 0; e < GAVEL_MAX_REQUIRED_INPUTS && d.required_inputs[e]; e++) {
        exports_gavel_judge_judge_input_t any_of[INPUT_COUNT];
        size_t len = 0;
        for (size_t i = 0; i < INPUT_COUNT; i++) {
            if (d.required_inputs[e] & (1u << i)) any_of[len++] = INPUTS[i];
        }
        if (len == 0) continue;
        lists[entries].ptr = xmalloc(len * sizeof any_of[0]);
        memcpy(lists[entries].ptr, any_of, len * sizeof any_of[0]);
        lists[entries].len = len;
        entries++;
    }
    ret->required_inputs.len = entries;
    ret->required_inputs.ptr = NULL;
    if (entries) {
        ret->required_inputs.ptr = xmalloc(entries * sizeof lists[0]);
        memcpy(ret->required_inputs.ptr, lists, entries * sizeof lists[0]);
    }

    size_t endpoints = 0;
    while (endpoints < GAVEL_MAX_ENDPOINTS && d.endpoints[endpoints]) endpoints++;
    ret->endpoints.len = endpoints;
    ret->endpoints.ptr = NULL;
    if (endpoints) {
        ret->endpoints.ptr = xmalloc(endpoints * sizeof(plugin_string_t));
        for (size_t i = 0; i < endpoints; i++) set_copy(&ret->endpoints.ptr[i], d.endpoints[i]);
    }
}

/* ---- The row ---- */

static const char *const *take_strings(plugin_list_string_t *list) {
    if (list->len == 0) return NULL;
    const char **texts = owned_alloc(list->len * sizeof *texts);
    for (size_t i = 0; i < list->len; i++) texts[i] = take(&list->ptr[i]);
    return texts;
}

static const gavel_chunk *take_chunks(gavel_judge_types_list_chunk_t *list) {
    if (list->len == 0) return NULL;
    gavel_chunk *chunks = owned_alloc(list->len * sizeof *chunks);
    for (size_t i = 0; i < list->len; i++) {
        chunks[i].content = take_option(&list->ptr[i].content);
        chunks[i].doc_uri = take_option(&list->ptr[i].doc_uri);
    }
    return chunks;
}

static const gavel_guideline_group *take_groups(gavel_judge_types_list_guideline_group_t *list) {
    if (list->len == 0) return NULL;
    gavel_guideline_group *groups = owned_alloc(list->len * sizeof *groups);
    for (size_t i = 0; i < list->len; i++) {
        groups[i].name = take_option(&list->ptr[i].name);
        groups[i].rule_count = list->ptr[i].rules.len;
        groups[i].rules = take_strings(&list->ptr[i].rules);
    }
    return groups;
}

static void take_row(gavel_judge_types_row_t *from, gavel_row *row) {
    row->request_id = take(&from->request_id);
    row->request = take(&from->request);
    row->conversation_count = from->conversation.len;
    row->conversation = NULL;
    if (from->conversation.len) {
        gavel_message *messages = owned_alloc(from->conversation.len * sizeof *messages);
        for (size_t i = 0; i < from->conversation.len; i++) {
            messages[i].role = (gavel_role)from->conversation.ptr[i].role;
            messages[i].content = take(&from->conversation.ptr[i].content);
        }
        row->conversation = messages;
    }
    row->response = take_option(&from->response);
    row->expected_response = take_option(&from->expected_response);
    row->expected_fact_count = from->expected_facts.len;
    row->expected_facts = take_strings(&from->expected_facts);
    row->retrieved_context_count = from->retrieved_context.len;
    row->retrieved_context = take_chunks(&from->retrieved_context);
    row->expected_retrieved_context_count = from->expected_retrieved_context.len;
    row->expected_retrieved_context = take_chunks(&from->expected_retrieved_context);
    row->guideline_group_count = from->guidelines.len;
    row->guidelines = take_groups(&from->guidelines);
    row->global_guideline_group_count = from->global_guidelines.len;
    row->global_guidelines = take_groups(&from->global_guidelines);
    row->trace = take_option(&from->trace);
    row->extra = take(&from->extra);
}

/* ---- Verdicts and errors ---- */

static gavel_judge_types_verdict_t wit_verdict(gavel_verdict verdict) {
    gavel_judge_types_verdict_t v;
    memset(&v, 0, sizeof v);
    switch (verdict.kind) {
    case GAVEL_VERDICT_YES: v.tag = GAVEL_JUDGE_TYPES_VERDICT_YES; break;
    case GAVEL_VERDICT_NO: v.tag = GAVEL_JUDGE_TYPES_VERDICT_NO; break;
    default:
        v.tag = GAVEL_JUDGE_TYPES_VERDICT_SCORE;
        v.val.score = (uint8_t)verdict.score;
        break;
    }
    return v;
}

static gavel_verdict c_verdict(gavel_judge_types_verdict_t v) {
    gavel_verdict verdict = {GAVEL_VERDICT_YES, 0};
    if (v.tag == GAVEL_JUDGE_TYPES_VERDICT_NO) verdict.kind = GAVEL_VERDICT_NO;
    if (v.tag == GAVEL_JUDGE_TYPES_VERDICT_SCORE) {
        verdict.kind = GAVEL_VERDICT_SCORE;
        verdict.score = v.val.score;
    }
    return verdict;
}

static void clear_error(gavel_assessment *a) {
    if (a->has_error) exports_gavel_judge_judge_judge_error_free(&a->error);
    a->has_error = false;
}

/* Records an error whose message is `text` (malloc'd, now owned). */
static gavel_status record(gavel_assessment *a, gavel_status status, char *text) {
    clear_error(a);
    memset(&a->error, 0, sizeof a->error);
    switch (status) {
    case GAVEL_MISSING_INPUT:
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_MISSING_INPUT;
        set_owned(&a->error.val.missing_input, text);
        break;
    case GAVEL_INVALID_CONFIG:
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_INVALID_CONFIG;
        set_owned(&a->error.val.invalid_config, text);
        break;
    case GAVEL_LLM:
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_LLM;
        a->error.val.llm.tag = GAVEL_JUDGE_LLM_LLM_ERROR_UPSTREAM;
        set_owned(&a->error.val.llm.val.upstream, text);
        break;
    case GAVEL_UNPARSABLE_ANSWER:
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_UNPARSABLE_ANSWER;
        set_owned(&a->error.val.unparsable_answer, text);
        break;
    default:
        status = GAVEL_FAILED;
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_FAILED;
        set_owned(&a->error.val.failed, text);
        break;
    }
    a->has_error = true;
    return status;
}

/* The ask import's error, moved into `a` (the cases mirror judge-error). */
static gavel_status record_ask_error(gavel_assessment *a, gavel_judge_ask_ask_error_t *error) {
    clear_error(a);
    memset(&a->error, 0, sizeof a->error);
    gavel_status status;
    switch (error->tag) {
    case GAVEL_JUDGE_ASK_ASK_ERROR_MISSING_INPUT:
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_MISSING_INPUT;
        a->error.val.missing_input = error->val.missing_input;
        status = GAVEL_MISSING_INPUT;
        break;
    case GAVEL_JUDGE_ASK_ASK_ERROR_INVALID_CONFIG:
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_INVALID_CONFIG;
        a->error.val.invalid_config = error->val.invalid_config;
        status = GAVEL_INVALID_CONFIG;
        break;
    case GAVEL_JUDGE_ASK_ASK_ERROR_LLM:
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_LLM;
        a->error.val.llm = error->val.llm;
        status = GAVEL_LLM;
        break;
    default:
        a->error.tag = EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_UNPARSABLE_ANSWER;
        a->error.val.unparsable_answer = error->val.unparsable_answer;
        status = GAVEL_UNPARSABLE_ANSWER;
        break;
    }
    a->has_error = true;
    return status;
}

static gavel_status status_of(const judge_error *error) {
    switch (error->tag) {
    case EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_MISSING_INPUT: return GAVEL_MISSING_INPUT;
    case EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_INVALID_CONFIG: return GAVEL_INVALID_CONFIG;
    case EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_LLM: return GAVEL_LLM;
    case EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_UNPARSABLE_ANSWER: return GAVEL_UNPARSABLE_ANSWER;
    default: return GAVEL_FAILED;
    }
}

/* The recorded error in words (malloc'd), or NULL. */
static char *describe_error(const gavel_assessment *a) {
    if (!a->has_error) return NULL;
    const judge_error *e = &a->error;
    const char *prefix = "";
    const plugin_string_t *text = NULL;
    char budget[64];
    switch (e->tag) {
    case EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_MISSING_INPUT:
        prefix = "missing input: ";
        text = &e->val.missing_input;
        break;
    case EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_INVALID_CONFIG:
        prefix = "invalid configuration: ";
        text = &e->val.invalid_config;
        break;
    case EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_UNPARSABLE_ANSWER:
        prefix = "could not read the judge LLM's answer: ";
        text = &e->val.unparsable_answer;
        break;
    case EXPORTS_GAVEL_JUDGE_JUDGE_JUDGE_ERROR_FAILED: text = &e->val.failed; break;
    default:
        switch (e->val.llm.tag) {
        case GAVEL_JUDGE_LLM_LLM_ERROR_NOT_ALLOWED:
            prefix = "LLM call refused: ";
            text = &e->val.llm.val.not_allowed;
            break;
        case GAVEL_JUDGE_LLM_LLM_ERROR_BUDGET_EXCEEDED:
            snprintf(budget, sizeof budget, "LLM call budget of %lu calls exceeded",
                     (unsigned long)e->val.llm.val.budget_exceeded);
            prefix = budget;
            break;
        case GAVEL_JUDGE_LLM_LLM_ERROR_TIMEOUT: prefix = "LLM call timed out"; break;
        default:
            prefix = "LLM call failed: ";
            text = &e->val.llm.val.upstream;
            break;
        }
    }
    size_t prefix_len = strlen(prefix);
    size_t text_len = text ? text->len : 0;
    char *message = xmalloc(prefix_len + text_len + 1);
    memcpy(message, prefix, prefix_len);
    if (text_len) memcpy(message + prefix_len, text->ptr, text_len);
    message[prefix_len + text_len] = '\0';
    return message;
}

const char *gavel_error_message(const gavel_assessment *a) {
    char *message = describe_error(a);
    return message ? own(message) : NULL;
}

static char *format(const char *format, ...) GAVEL_PRINTF(1, 2);
static char *format(const char *format, ...) {
    va_list args;
    va_start(args, format);
    char *text = vformat(format, args);
    va_end(args);
    return text;
}

/* Sets the verdict with `rationale` (malloc'd, now owned). */
static gavel_status set_verdict(gavel_assessment *a, gavel_verdict verdict, char *rationale) {
    /* The host judges the range 1-5; what is not even a byte cannot reach it. */
    if (verdict.kind == GAVEL_VERDICT_SCORE && (verdict.score < 0 || verdict.score > UINT8_MAX)) {
        free(rationale);
        return record(a, GAVEL_FAILED, format("score %d is not between 1 and 5", verdict.score));
    }
    plugin_string_free(&a->value.rationale);
    a->value.verdict = wit_verdict(verdict);
    set_owned(&a->value.rationale, rationale);
    a->has_verdict = true;
    clear_error(a);
    return GAVEL_OK;
}

#define WITH_MESSAGE(text, format)                                                                 \
    va_list args;                                                                                  \
    va_start(args, format);                                                                        \
    char *text = vformat(format, args);                                                            \
    va_end(args)

gavel_status gavel_yes(gavel_assessment *a, const char *rationale, ...) {
    WITH_MESSAGE(text, rationale);
    return set_verdict(a, (gavel_verdict){GAVEL_VERDICT_YES, 0}, text);
}

gavel_status gavel_no(gavel_assessment *a, const char *rationale, ...) {
    WITH_MESSAGE(text, rationale);
    return set_verdict(a, (gavel_verdict){GAVEL_VERDICT_NO, 0}, text);
}

gavel_status gavel_score(gavel_assessment *a, long long score, const char *rationale, ...) {
    WITH_MESSAGE(text, rationale);
    if (score < 0 || score > UINT8_MAX) {
        free(text);
        return record(a, GAVEL_FAILED, format("score %lld is not between 1 and 5", score));
    }
    return set_verdict(a, (gavel_verdict){GAVEL_VERDICT_SCORE, (int)score}, text);
}

gavel_status gavel_set_verdict(gavel_assessment *a, gavel_verdict verdict, const char *rationale,
                               ...) {
    WITH_MESSAGE(text, rationale);
    return set_verdict(a, verdict, text);
}

gavel_status gavel_missing_input(gavel_assessment *a, const char *input, ...) {
    WITH_MESSAGE(text, input);
    return record(a, GAVEL_MISSING_INPUT, text);
}

gavel_status gavel_invalid_config(gavel_assessment *a, const char *message, ...) {
    WITH_MESSAGE(text, message);
    return record(a, GAVEL_INVALID_CONFIG, text);
}

gavel_status gavel_unparsable_answer(gavel_assessment *a, const char *answer, ...) {
    WITH_MESSAGE(text, answer);
    return record(a, GAVEL_UNPARSABLE_ANSWER, text);
}

gavel_status gavel_failed(gavel_assessment *a, const char *message, ...) {
    WITH_MESSAGE(text, message);
    return record(a, GAVEL_FAILED, text);
}

static gavel_judge_types_result_chunk_assessment_string_t *next_chunk(gavel_assessment *a) {
    gavel_judge_types_list_result_chunk_assessment_string_t *chunks = &a->value.chunks;
    if (chunks->len == a->chunk_capacity) {
        a->chunk_capacity = a->chunk_capacity ? a->chunk_capacity * 2 : 8;
        chunks->ptr = xrealloc(chunks->ptr, a->chunk_capacity * sizeof *chunks->ptr);
    }
    gavel_judge_types_result_chunk_assessment_string_t *chunk = &chunks->ptr[chunks->len++];
    memset(chunk, 0, sizeof *chunk);
    return chunk;
}

void gavel_add_chunk(gavel_assessment *a, gavel_verdict verdict, const char *rationale) {
    gavel_judge_types_result_chunk_assessment_string_t *chunk = next_chunk(a);
    chunk->is_err = false;
    chunk->val.ok.verdict = wit_verdict(verdict);
    set_copy(&chunk->val.ok.rationale, rationale);
}

void gavel_add_chunk_error(gavel_assessment *a, const char *message) {
    gavel_judge_types_result_chunk_assessment_string_t *chunk = next_chunk(a);
    chunk->is_err = true;
    set_copy(&chunk->val.err, message);
}

/* ---- Asking ---- */

/*
 * Calls the ask import (or rate-chunks, with `overall`). The question
 * borrows the judge's strings; `overrides` is the one allocation made here.
 */
static bool ask_import(const gavel_question *q, const gavel_overall *overall,
                       gavel_judge_ask_answer_t *answer, gavel_judge_ask_rated_chunks_t *rated,
                       gavel_judge_ask_ask_error_t *error) {
    gavel_judge_ask_question_t question;
    memset(&question, 0, sizeof question);
    question.criterion = borrow(q->criterion);
    question.scale = q->scale == GAVEL_ONE_TO_FIVE ? GAVEL_JUDGE_ASK_SCALE_ONE_TO_FIVE
                                                   : GAVEL_JUDGE_ASK_SCALE_YES_NO;
    gavel_judge_ask_variable_t *variables = NULL;
    if (q->override_count) {
        variables = xmalloc(q->override_count * sizeof *variables);
        for (size_t i = 0; i < q->override_count; i++) {
            variables[i].name = borrow(q->overrides[i].name);
            variables[i].value = borrow(q->overrides[i].value);
        }
    }
    question.overrides.ptr = variables;
    question.overrides.len = q->override_count;
    question.endpoint.is_some = q->endpoint != NULL;
    if (q->endpoint) question.endpoint.val = borrow(q->endpoint);
    bool ok;
    if (overall) {
        ok = gavel_judge_ask_rate_chunks(&question,
                                         *overall == GAVEL_ALL_YES ? GAVEL_JUDGE_ASK_OVERALL_ALL_YES
                                                                   : GAVEL_JUDGE_ASK_OVERALL_ANY_YES,
                                         rated, error);
    } else {
        ok = gavel_judge_ask_ask(&question, answer, error);
    }
    free(variables);
    return ok;
}

static gavel_status ask_verdict(gavel_assessment *a, const char *criterion, gavel_scale scale) {
    gavel_question question = {criterion, scale, NULL, 0, NULL};
    gavel_judge_ask_answer_t answer;
    gavel_judge_ask_ask_error_t error;
    if (!ask_import(&question, NULL, &answer, NULL, &error)) return record_ask_error(a, &error);
    plugin_string_free(&a->value.rationale);
    a->value.verdict = answer.verdict;
    a->value.rationale = answer.rationale;
    a->has_verdict = true;
    clear_error(a);
    return GAVEL_OK;
}

gavel_status gavel_ask_yes_no(gavel_assessment *a, const char *criterion) {
    return ask_verdict(a, criterion, GAVEL_YES_NO);
}

gavel_status gavel_ask_score(gavel_assessment *a, const char *criterion) {
    return ask_verdict(a, criterion, GAVEL_ONE_TO_FIVE);
}

gavel_status gavel_rate_chunks(gavel_assessment *a, const char *criterion, gavel_scale scale,
                               gavel_overall overall) {
    gavel_question question = {criterion, scale, NULL, 0, NULL};
    gavel_judge_ask_rated_chunks_t rated;
    gavel_judge_ask_ask_error_t error;
    if (!ask_import(&question, &overall, NULL, &rated, &error)) return record_ask_error(a, &error);
    gavel_judge_types_assessment_free(&a->value);
    a->value = rated.assessment;
    /* An empty list's pointer is no allocation, so it must not grow. */
    if (a->value.chunks.len == 0) a->value.chunks.ptr = NULL;
    a->chunk_capacity = a->value.chunks.len;
    a->has_verdict = true;
    clear_error(a);
    return GAVEL_OK;
}

gavel_status gavel_ask(gavel_assessment *a, const gavel_question *question, gavel_answer *answer) {
    gavel_judge_ask_answer_t got;
    gavel_judge_ask_ask_error_t error;
    if (!ask_import(question, NULL, &got, NULL, &error)) return record_ask_error(a, &error);
    answer->verdict = c_verdict(got.verdict);
    answer->rationale = take(&got.rationale);
    answer->input_tokens = got.usage.input_tokens;
    answer->output_tokens = got.usage.output_tokens;
    return GAVEL_OK;
}

/* ---- Logging ---- */

void gavel_log(gavel_log_level level, const char *message, ...) {
    WITH_MESSAGE(text, message);
    plugin_string_t borrowed = borrow(text);
    gavel_judge_log_level_t wit_level;
    switch (level) {
    case GAVEL_LOG_TRACE: wit_level = GAVEL_JUDGE_LOG_LEVEL_TRACE; break;
    case GAVEL_LOG_DEBUG: wit_level = GAVEL_JUDGE_LOG_LEVEL_DEBUG; break;
    case GAVEL_LOG_WARN: wit_level = GAVEL_JUDGE_LOG_LEVEL_WARN; break;
    case GAVEL_LOG_ERROR: wit_level = GAVEL_JUDGE_LOG_LEVEL_ERROR; break;
    default: wit_level = GAVEL_JUDGE_LOG_LEVEL_INFO; break;
    }
    gavel_judge_log_log(wit_level, &borrowed);
    free(text);
}

/* ---- Options ----
 *
 * A reader of the top-level keys of one JSON object (RFC 8259). It checks
 * the whole text, so options that are not exactly one object read as
 * having no keys, and never reads past the end of the text. Nesting is
 * skipped, to a bounded depth.
 */

#define MAX_DEPTH 64

typedef struct cursor {
    const char *at;
    const char *end;
} cursor;

static void skip_space(cursor *c) {
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\t' || *c->at == '\n' || *c->at == '\r'))
        c->at++;
}

static bool eat(cursor *c, char expected) {
    skip_space(c);
    if (c->at < c->end && *c->at == expected) {
        c->at++;
        return true;
    }
    return false;
}

static int hex_digit(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Four hex digits at `at` (which has at least four bytes), or -1. */
static long hex4(const char *at) {
    long value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_digit(at[i]);
        if (digit < 0) return -1;
        value = value * 16 + digit;
    }
    return value;
}

static size_t put_utf8(char *out, unsigned long cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Reads the string at the cursor (which is at its opening quote). With
 * `out` (room for as many bytes as the string's text, which its decoding
 * never exceeds), decodes it there and sets `*len`. A lone surrogate
 * decodes as U+FFFD.
 */
static bool read_string(cursor *c, char *out, size_t *len) {
    if (c->at >= c->end || *c->at != '"') return false;
    c->at++;
    size_t n = 0;
    while (c->at < c->end) {
        unsigned char ch = (unsigned char)*c->at++;
        if (ch == '"') {
            if (len) *len = n;
            return true;
        }
        if (ch < 0x20) return false;
        if (ch != '\\') {
            if (out) out[n] = (char)ch;
            n++;
            continue;
        }
        if (c->at >= c->end) return false;
        char escape = *c->at++;
        static const char escapes[] = "\"\\/bfnrt";
        static const char decoded[] = "\"\\/\b\f\n\r\t";
        const char *simple = escape ? strchr(escapes, escape) : NULL;
        if (simple) {
            if (out) out[n] = decoded[simple - escapes];
            n++;
            continue;
        }
        if (escape != 'u' || c->end - c->at < 4) return false;
        long cp = hex4(c->at);
        if (cp < 0) return false;
        c->at += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && c->end - c->at >= 6 && c->at[0] == '\\' &&
            c->at[1] == 'u') {
            long low = hex4(c->at + 2);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                c->at += 6;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        char utf8[4];
        size_t bytes = put_utf8(utf8, (unsigned long)cp);
        if (out) memcpy(out + n, utf8, bytes);
        n += bytes;
    }
    return false;
}

/* Reads a number; `*integer` is set when it is an integer that fits. */
static gavel_json_type read_number(cursor *c, long long *integer) {
    const char *at = c->at;
    bool negative = at < c->end && *at == '-';
    if (negative) at++;
    if (at >= c->end || *at < '0' || *at > '9') return GAVEL_JSON_ABSENT;
    bool fits = true;
    unsigned long long magnitude = 0;
    const unsigned long long limit = negative ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    if (*at == '0') {
        at++;
    } else {
        while (at < c->end && *at >= '0' && *at <= '9') {
            unsigned digit = (unsigned)(*at++ - '0');
            if (magnitude > (limit - digit) / 10) fits = false;
            else magnitude = magnitude * 10 + digit;
        }
    }
    bool whole = true;
    if (at < c->end && *at == '.') {
        whole = false;
        at++;
        if (at >= c->end || *at < '0' || *at > '9') return GAVEL_JSON_ABSENT;
        while (at < c->end && *at >= '0' && *at <= '9') at++;
    }
    if (at < c->end && (*at == 'e' || *at == 'E')) {
        whole = false;
        at++;
        if (at < c->end && (*at == '+' || *at == '-')) at++;
        if (at >= c->end || *at < '0' || *at > '9') return GAVEL_JSON_ABSENT;
        while (at < c->end && *at >= '0' && *at <= '9') at++;
    }
    c->at = at;
    if (!whole || !fits) return GAVEL_JSON_NUMBER;
    *integer = negative ? (long long)(0 - magnitude) : (long long)magnitude;
    return GAVEL_JSON_INT;
}

static bool read_literal(cursor *c, const char *word) {
    size_t len = strlen(word);
    if ((size_t)(c->end - c->at) < len || memcmp(c->at, word, len) != 0) return false;
    c->at += len;
    return true;
}

/* Skips one value and returns its type; GAVEL_JSON_ABSENT when malformed. */
static gavel_json_type skip_value(cursor *c, int depth, long long *integer) {
    skip_space(c);
    if (c->at >= c->end) return GAVEL_JSON_ABSENT;
    long long ignored;
    switch (*c->at) {
    case '"': return read_string(c, NULL, NULL) ? GAVEL_JSON_STRING : GAVEL_JSON_ABSENT;
    case 't': return read_literal(c, "true") ? GAVEL_JSON_BOOL : GAVEL_JSON_ABSENT;
    case 'f': return read_literal(c, "false") ? GAVEL_JSON_BOOL : GAVEL_JSON_ABSENT;
    case 'n': return read_literal(c, "null") ? GAVEL_JSON_NULL : GAVEL_JSON_ABSENT;
    case '[':
        if (depth >= MAX_DEPTH) return GAVEL_JSON_ABSENT;
        c->at++;
        if (eat(c, ']')) return GAVEL_JSON_ARRAY;
        do {
            if (skip_value(c, depth + 1, &ignored) == GAVEL_JSON_ABSENT) return GAVEL_JSON_ABSENT;
        } while (eat(c, ','));
        return eat(c, ']') ? GAVEL_JSON_ARRAY : GAVEL_JSON_ABSENT;
    case '{':
        if (depth >= MAX_DEPTH) return GAVEL_JSON_ABSENT;
        c->at++;
        if (eat(c, '}')) return GAVEL_JSON_OBJECT;
        do {
            skip_space(c);
            if (!read_string(c, NULL, NULL) || !eat(c, ':')) return GAVEL_JSON_ABSENT;
            if (skip_value(c, depth + 1, &ignored) == GAVEL_JSON_ABSENT) return GAVEL_JSON_ABSENT;
        } while (eat(c, ','));
        return eat(c, '}') ? GAVEL_JSON_OBJECT : GAVEL_JSON_ABSENT;
    default: return read_number(c, integer);
    }
}

/* Whether the JSON string at `raw` (its opening quote) decodes to `key`. */
static bool key_is(const char *raw, const char *end, const char *key) {
    size_t key_len = strlen(key);
    const char *close = raw + 1;
    while (close < end && *close != '"' && *close != '\\') close++;
    if (close < end && *close == '"') {
        return (size_t)(close - raw - 1) == key_len && memcmp(raw + 1, key, key_len) == 0;
    }
    /* Escapes: decode into a buffer as long as the raw text. */
    cursor c = {raw, end};
    size_t len;
    if (!read_string(&c, NULL, &len) || len != key_len) return false;
    char *decoded = xmalloc((size_t)(c.at - raw));
    c.at = raw;
    read_string(&c, decoded, &len);
    bool same = memcmp(decoded, key, key_len) == 0;
    free(decoded);
    return same;
}

typedef struct option {
    gavel_json_type type;
    /* Where the value starts. */
    const char *at;
    const char *end;
    long long integer;
} option;

static option find(const gavel_options *options, const char *key) {
    option found = {GAVEL_JSON_ABSENT, NULL, NULL, 0};
    if (!options || !options->json || !key) return found;
    cursor c = {options->json, options->json + strlen(options->json)};
    if (!eat(&c, '{')) return found;
    option last = found;
    if (!eat(&c, '}')) {
        do {
            skip_space(&c);
            const char *name = c.at;
            if (!read_string(&c, NULL, NULL) || !eat(&c, ':')) return found;
            skip_space(&c);
            option value = {GAVEL_JSON_ABSENT, c.at, c.end, 0};
            value.type = skip_value(&c, 1, &value.integer);
            if (value.type == GAVEL_JSON_ABSENT) return found;
            if (key_is(name, c.end, key)) last = value;
        } while (eat(&c, ','));
        if (!eat(&c, '}')) return found;
    }
    skip_space(&c);
    return c.at == c.end ? last : found;
}

gavel_json_type gavel_option_type(const gavel_options *options, const char *key) {
    return find(options, key).type;
}

long long gavel_option_int(const gavel_options *options, const char *key, long long fallback) {
    option value = find(options, key);
    return value.type == GAVEL_JSON_INT ? value.integer : fallback;
}

bool gavel_option_bool(const gavel_options *options, const char *key, bool fallback) {
    option value = find(options, key);
    return value.type == GAVEL_JSON_BOOL ? *value.at == 't' : fallback;
}

const char *gavel_option_string(const gavel_options *options, const char *key,
                                const char *fallback) {
    option value = find(options, key);
    if (value.type != GAVEL_JSON_STRING) return fallback;
    cursor c = {value.at, value.end};
    size_t len;
    read_string(&c, NULL, &len);
    char *text = owned_alloc(len + 1);
    c.at = value.at;
    read_string(&c, text, &len);
    text[len] = '\0';
    return text;
}

/* ---- Evaluating ---- */

/* Turns what the judge returned into the component's result. */
static bool finish(gavel_assessment *a, gavel_status status,
                   exports_gavel_judge_judge_assessment_t *ret, judge_error *err) {
    if (status == GAVEL_OK && a->has_verdict) {
        *ret = a->value;
        clear_error(a);
        return true;
    }
    if (status == GAVEL_OK) {
        gavel_failed(a, "the judge returned GAVEL_OK without a verdict");
    } else if (status < GAVEL_MISSING_INPUT || status > GAVEL_FAILED) {
        gavel_failed(a, "the judge returned %d, which is not a gavel_status", (int)status);
    } else if (!a->has_error || status_of(&a->error) != status) {
        /* A status returned without its setter: keep the last message. */
        char *message = describe_error(a);
        record(a, status, message ? message : format("the judge gave no message"));
    }
    *err = a->error;
    a->has_error = false;
    gavel_judge_types_assessment_free(&a->value);
    return false;
}

bool exports_gavel_judge_judge_evaluate(exports_gavel_judge_judge_row_t *wit_row,
                                        exports_gavel_judge_judge_judge_config_t *config,
                                        exports_gavel_judge_judge_assessment_t *ret,
                                        judge_error *err) {
    gavel_row row;
    take_row(wit_row, &row);
    exports_gavel_judge_judge_row_free(wit_row);
    gavel_options options;
    options.json = take(&config->options);
    options.endpoint = take(&config->endpoint);
    options.threshold = config->threshold;
    exports_gavel_judge_judge_judge_config_free(config);

    gavel_assessment a;
    memset(&a, 0, sizeof a);
    gavel_status status = gavel_evaluate(&row, &options, &a);
    bool ok = finish(&a, status, ret, err);
    release_owned();
    return ok;
}
