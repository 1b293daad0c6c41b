// The probe judge: exercises every SDK call, as tests/languages.rs expects
// of every language.

import {
  defineJudge, askYesNo, askScore, rateChunks, yes, no, score, log,
  Failed, MissingInput, InvalidConfig,
} from "gavel-judge";

const YES_NO = "Is the response helpful?\n{{request}}\n{{response}}";
const CHUNK = "Is this chunk relevant to the request?\n{{request}}\n{{retrieved_context}}";

export const judge = defineJudge({
  name: "probe",
  version: "1.0.0",
  description: "Exercises every SDK call.",
  requires: ["request", "response"],

  evaluate(row, { mode = "", verdict }) {
    switch (mode) {
      case "yes_no": return askYesNo(YES_NO);
      case "score": return askScore(YES_NO);
      case "chunks": return rateChunks(CHUNK, "yes-no", "any-yes");
      case "chunk_scores": return rateChunks(CHUNK, "one-to-five", "all-yes");
      case "fixed":
        if (verdict === "yes") return yes("Fixed.");
        if (verdict === "no") return no("Fixed.");
        return score(verdict, "Fixed.");
      case "fail": throw new Failed("asked to fail");
      case "missing": throw new MissingInput("expected_response");
      case "log":
        log.info("probe says hi");
        return yes("Logged.");
      case "spin": for (;;);
      default: throw new InvalidConfig(`unknown mode: ${mode}`);
    }
  },
});
