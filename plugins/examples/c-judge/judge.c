/* Is the response concise? Too long by word count fails without an LLM call;
 * otherwise the judge LLM decides. As ../rust-judge does, in C. */
#include <ctype.h>

#include "gavel.h"

void gavel_describe(gavel_description *d) {
    d->name = "conciseness";
    d->version = "1.0.0";
    d->description = "The response answers without padding.";
    d->required_inputs[0] = GAVEL_REQUEST;
    d->required_inputs[1] = GAVEL_RESPONSE;
}

gavel_status gavel_evaluate(const gavel_row *row, const gavel_options *options,
                            gavel_assessment *a) {
    long long max_words = gavel_option_int(options, "max_words", 100);
    long long words = 0;
    for (const char *c = row->response; *c; c++)
        if (!isspace((unsigned char)*c) && (c == row->response || isspace((unsigned char)c[-1])))
            words++;
    if (words > max_words)
        return gavel_no(a, "%lld words, over the limit of %lld.", words, max_words);
    return gavel_ask_yes_no(a, "Is the response concise: does it answer the request without "
                               "padding, repetition or unrequested detail?\n{{request}}\n{{response}}");
}
