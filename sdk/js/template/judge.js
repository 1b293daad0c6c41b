// __NAME__: a gavel judge. `gavel build` makes __NAME__.wasm; try it on the
// test row with `gavel judge --plugin __NAME__.wasm --row row.json`.

import { defineJudge, askYesNo, no } from "gavel-judge";

export const judge = defineJudge({
  name: "__NAME__",
  version: "0.1.0",
  description: "The response answers the request.",
  requires: ["request", "response"],

  // The options are the judge's `config = { ... }` in gavel.toml ({} if none).
  evaluate(row, { max_words }) {
    const words = row.response.split(/\s+/).filter(Boolean).length;
    // Responses longer than `max_words` fail without asking the LLM.
    if (max_words !== undefined && words > max_words) {
      return no(`${words} words, over the limit of ${max_words}.`);
    }
    return askYesNo("Does the response answer the request?\n{{request}}\n{{response}}");
  },
});
