/* The probe: exercises every SDK call, chosen by the "mode" option. */
#include <string.h>

#include "gavel.h"

#define YES_NO "Is the response helpful?\n{{request}}\n{{response}}"
#define CHUNK "Is this chunk relevant to the request?\n{{request}}\n{{retrieved_context}}"

void gavel_describe(gavel_description *d) {
    d->name = "probe";
    d->version = "1.0.0";
    d->description = "Exercises every SDK call.";
    d->assessment_type = GAVEL_ANSWER;
    d->required_inputs[0] = GAVEL_REQUEST;
    d->required_inputs[1] = GAVEL_RESPONSE;
}

gavel_status gavel_evaluate(const gavel_row *row, const gavel_options *options,
                            gavel_assessment *a) {
    const char *mode = gavel_option_string(options, "mode", "");
    if (!strcmp(mode, "yes_no")) return gavel_ask_yes_no(a, YES_NO);
    if (!strcmp(mode, "score")) return gavel_ask_score(a, YES_NO);
    if (!strcmp(mode, "chunks")) return gavel_rate_chunks(a, CHUNK, GAVEL_YES_NO, GAVEL_ANY_YES);
    if (!strcmp(mode, "chunk_scores"))
        return gavel_rate_chunks(a, CHUNK, GAVEL_ONE_TO_FIVE, GAVEL_ALL_YES);
    if (!strcmp(mode, "fixed")) {
        const char *verdict = gavel_option_string(options, "verdict", "");
        if (!strcmp(verdict, "yes")) return gavel_yes(a, "Fixed.");
        if (!strcmp(verdict, "no")) return gavel_no(a, "Fixed.");
        return gavel_score(a, gavel_option_int(options, "verdict", 0), "Fixed.");
    }
    if (!strcmp(mode, "fail")) return gavel_failed(a, "asked to fail");
    if (!strcmp(mode, "missing")) return gavel_missing_input(a, "expected_response");
    if (!strcmp(mode, "log")) {
        gavel_log(GAVEL_LOG_INFO, "probe says hi");
        return gavel_yes(a, "Logged.");
    }
    if (!strcmp(mode, "spin"))
        for (;;) {
        }
    return gavel_invalid_config(a, "unknown mode: %s", mode);
}
