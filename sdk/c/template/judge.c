/*
 * __NAME__: a gavel judge. `gavel build` makes __NAME__.wasm; try it on the
 * test row with `gavel judge --plugin __NAME__.wasm --row row.json`.
 * The SDK is documented in gavel.h (sdk/c/gavel.h in gavel's sources).
 * Other .c files next to this one are built into the judge too; judge.toml
 * holds the package metadata (licence, authors, source) the build writes
 * into the component.
 */
#include <ctype.h>

#include "gavel.h"

void gavel_describe(gavel_description *d) {
    d->name = "__NAME__";
    d->version = "0.1.0";
    d->description = "The response answers the request.";
    d->required_inputs[0] = GAVEL_REQUEST;
    d->required_inputs[1] = GAVEL_RESPONSE;
}

gavel_status gavel_evaluate(const gavel_row *row, const gavel_options *options,
                            gavel_assessment *a) {
    /*
     * Options come from `config = { ... }` under the judge's table in
     * gavel.toml. Responses longer than max_words words (when set) fail
     * without asking the LLM.
     */
    long long max_words = gavel_option_int(options, "max_words", 0);
    long long words = 0;
    for (const char *c = row->response; *c; c++)
        if (!isspace((unsigned char)*c) && (c == row->response || isspace((unsigned char)c[-1])))
            words++;
    if (max_words > 0 && words > max_words)
        return gavel_no(a, "%lld words, over the limit of %lld.", words, max_words);
    return gavel_ask_yes_no(a, "Does the response answer the request?\n{{request}}\n{{response}}");
}
