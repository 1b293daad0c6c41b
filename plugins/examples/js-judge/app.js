// Is the response concise? Too long by word count fails without an LLM call;
// otherwise the judge LLM decides. Does exactly what the Rust example
// (`plugins/examples/rust-judge`) does; `ask.js` and `answer.js` do here what
// the Rust SDK does for it.

import { countWords } from './answer.js';
import { askYesNo } from './ask.js';
import { JsonError, JsonNumber, loads } from './json-value.js';

// The bindings componentize-js 0.23 generates decode every string the host
// hands over (the row, the options, the LLM's answer) with `new TextDecoder()`,
// which drops a leading U+FEFF (byte order mark); the Rust SDK keeps it, and so
// must this judge (it counts as a word, and an unreadable answer is returned
// as it came). Decode such strings with `ignoreBOM` instead.
const keepBom = new TextDecoder('utf-8', { ignoreBOM: true });
const decode = TextDecoder.prototype.decode;
TextDecoder.prototype.decode = function decodeKeepingBom(input, options) {
  return decode.call(this.ignoreBOM || this.encoding !== 'utf-8' ? this : keepBom, input, options);
};

const CRITERION =
  'Is the response concise: does it answer the request ' +
  'without padding, repetition or unrequested detail?\n{{request}}\n{{response}}';

export const judge = {
  describe() {
    return {
      name: 'conciseness',
      version: '1.0.0',
      description: 'The response answers without padding.',
      assessmentType: 'answer',
      requiredInputs: [['request'], ['response']],
      endpoints: [],
    };
  },

  // Return the assessment for `ok`; throw a `JudgeError` for `err`.
  evaluate(row, config) {
    const maxWords = maxWordsOf(config.options);
    const words = countWords(row.response ?? '');
    if (words > maxWords) {
      return {
        verdict: { tag: 'no' },
        rationale: `${words} words, over the limit of ${maxWords}.`,
        chunks: [],
      };
    }
    return askYesNo(config, CRITERION);
  },
};

/** `options["max_words"]` when it is a whole number >= 0 (a BigInt), else 100. */
function maxWordsOf(options) {
  let value;
  try {
    value = loads(options);
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    return 100n;
  }
  const maxWords = value instanceof Map ? value.get('max_words') : undefined;
  return (maxWords instanceof JsonNumber ? maxWords.asU64() : null) ?? 100n;
}
