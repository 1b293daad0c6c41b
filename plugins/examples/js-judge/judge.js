// Is the response concise? Too long by word count fails without an LLM
// call; otherwise the judge LLM decides. The Rust and Python examples next to
// this one do exactly the same.

import { defineJudge, askYesNo, no } from "gavel-judge";

export const judge = defineJudge({
  name: "conciseness",
  version: "1.0.0",
  description: "The response answers without padding.",
  requires: ["request", "response"],

  evaluate(row, { max_words = 100 }) {
    const words = row.response.split(/\s+/).filter(Boolean).length;
    if (words > max_words) {
      return no(`${words} words, over the limit of ${max_words}.`);
    }
    return askYesNo(
      "Is the response concise: does it answer the request " +
        "without padding, repetition or unrequested detail?\n{{request}}\n{{response}}",
    );
  },
});
