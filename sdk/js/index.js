/**
 * Write gavel judge plugins in JavaScript.
 *
 * A judge is one object, registered with one call and exported as `judge`:
 *
 * ```js
 * import { defineJudge, askYesNo } from "gavel-judge";
 *
 * export const judge = defineJudge({
 *   name: "politeness",
 *   version: "0.1.0",
 *   description: "The response is polite.",
 *   requires: ["request", "response"],
 *   evaluate(row, options) {
 *     return askYesNo("Is the response polite?\n{{request}}\n{{response}}");
 *   },
 * });
 * ```
 *
 * `gavel new judge NAME --lang js` writes such a project; `gavel build`
 * bundles it with this module and turns it into a component with
 * componentize-js. The host renders prompts and calls the LLM on the judge's
 * behalf: the judge never touches the network, files or secrets.
 *
 * @module gavel-judge
 */

import { ask as hostAsk, rateChunks as hostRateChunks } from 'gavel:judge/ask@0.1.2';
import { complete as hostComplete } from 'gavel:judge/llm@0.1.2';
import { log as hostLog } from 'gavel:judge/log@0.1.2';
import { render as hostRender, renderRow as hostRenderRow } from 'gavel:judge/prompt@0.1.2';

// The generated bindings decode every string the host hands over with one
// `new TextDecoder()`, which drops a leading U+FEFF (byte order mark); a
// judge must see the text as it is, so they decode with `ignoreBOM`.
const keepBom = new TextDecoder('utf-8', { ignoreBOM: true });
const decode = TextDecoder.prototype.decode;
TextDecoder.prototype.decode = function decodeKeepingBom(input, options) {
  return decode.call(this.ignoreBOM || this.encoding !== 'utf-8' ? this : keepBom, input, options);
};

// ---------------------------------------------------------------------------
// Errors

/**
 * An error the host records as this judgment's error (WIT `judge-error`).
 * Throw one of its subclasses from `evaluate`; any other thrown value
 * becomes a {@link Failed} with its message.
 */
export class JudgeError extends Error {
  /**
   * @param {string} tag the `judge-error` case, such as `"missing-input"`
   * @param {unknown} value its payload
   * @param {string} message
   */
  constructor(tag, value, message) {
    super(message);
    this.name = new.target.name;
    /** The `judge-error` case. */
    this.tag = tag;
    /** Its payload: a string, or for `llm` the `llm-error`. */
    this.value = value;
  }
}

/** The row lacks an input the judge needs (its name, such as `"expected_response"`). */
export class MissingInput extends JudgeError {
  /** @param {string} input */
  constructor(input) {
    super('missing-input', input, `missing input: ${input}`);
  }
}

/** The judge's options (or a prompt template) are not usable. */
export class InvalidConfig extends JudgeError {
  /** @param {string} message */
  constructor(message) {
    super('invalid-config', message, message);
  }
}

/** An LLM call failed and the judge cannot go on. */
export class LlmError extends JudgeError {
  /** @param {{tag: string, val?: unknown}} error the WIT `llm-error` */
  constructor(error) {
    super('llm', error, `LLM call failed: ${error.tag}${error.val === undefined ? '' : `: ${error.val}`}`);
  }
}

/** The LLM's answers could not be read as a verdict; they are the payload. */
export class UnparsableAnswer extends JudgeError {
  /** @param {string} answer */
  constructor(answer) {
    super('unparsable-answer', answer, `unreadable answer: ${answer}`);
  }
}

/** Anything else that stops the judge. */
export class Failed extends JudgeError {
  /** @param {string} message */
  constructor(message) {
    super('failed', message, message);
  }
}

const ERRORS = {
  'missing-input': MissingInput,
  'invalid-config': InvalidConfig,
  llm: LlmError,
  'unparsable-answer': UnparsableAnswer,
  failed: Failed,
};
const LLM_ERRORS = new Set(['not-allowed', 'budget-exceeded', 'timeout', 'upstream']);

/** The `judge-error` for anything `evaluate` threw. */
function toJudgeError(thrown) {
  if (thrown instanceof JudgeError) return { tag: thrown.tag, val: thrown.value };
  // An error of an import called directly carries the WIT error as `payload`.
  const payload = thrown?.payload;
  if (ERRORS[payload?.tag]) return payload;
  if (LLM_ERRORS.has(payload?.tag)) return { tag: 'llm', val: payload };
  if (thrown instanceof Error) {
    const message = thrown.name === 'Error' ? thrown.message : `${thrown.name}: ${thrown.message}`;
    return { tag: 'failed', val: message };
  }
  return { tag: 'failed', val: String(thrown) };
}

/** Calls an import, turning the error it throws into a {@link JudgeError}. */
function calling(call) {
  try {
    return call();
  } catch (error) {
    const payload = error?.payload;
    if (payload === undefined) throw error;
    if (LLM_ERRORS.has(payload?.tag)) throw new LlmError(payload);
    if (ERRORS[payload?.tag]) throw new ERRORS[payload.tag](payload.val);
    // `render` fails with the host's message.
    throw new InvalidConfig(`prompt template: ${payload}`);
  }
}

// ---------------------------------------------------------------------------
// Verdicts

/**
 * The criterion is met.
 * @param {string} [rationale]
 */
export function yes(rationale = '') {
  return { verdict: { tag: 'yes' }, rationale, chunks: [] };
}

/**
 * The criterion is not met.
 * @param {string} [rationale]
 */
export function no(rationale = '') {
  return { verdict: { tag: 'no' }, rationale, chunks: [] };
}

/**
 * A score from 1 (not met at all) to 5 (fully met); the host turns it into
 * yes/no with the judge's threshold, and rejects scores outside 1-5.
 * @param {number} value
 * @param {string} [rationale]
 */
export function score(value, rationale = '') {
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new Failed(`a score is a whole number from 1 to 5, not ${JSON.stringify(value)}`);
  }
  return { verdict: { tag: 'score', val: value }, rationale, chunks: [] };
}

// ---------------------------------------------------------------------------
// Asking the judge LLM: the host does the asking (the criterion rendered
// against the row, few-shot examples, structured output, one repair, lenient
// reading), so these are thin calls of its `ask` import.

/**
 * @param {string} criterion
 * @param {string} scale
 * @param {{overrides?: Record<string, string>, endpoint?: string}} [how]
 */
function question(criterion, scale, { overrides, endpoint } = {}) {
  return { criterion, scale, overrides: variables(overrides), endpoint };
}

function variables(overrides = {}) {
  return Object.entries(overrides).map(([name, value]) => ({ name, value: String(value) }));
}

function assessment(answer) {
  return { verdict: answer.verdict, rationale: answer.rationale, chunks: [] };
}

/**
 * Asks the judge LLM whether the row meets `criterion`, a Handlebars
 * template the host renders against the row (`{{request}}`, `{{response}}`,
 * `{{expected_response}}`, ...).
 * @param {string} criterion
 * @param {{overrides?: Record<string, string>, endpoint?: string}} [how]
 *   variables that add to or replace the row's; another endpoint alias
 */
export function askYesNo(criterion, how) {
  return assessment(ask(criterion, { ...how, scale: 'yes-no' }));
}

/**
 * Like {@link askYesNo}, on a 1-5 scale; the host applies the threshold.
 * @param {string} criterion
 * @param {{overrides?: Record<string, string>, endpoint?: string}} [how]
 */
export function askScore(criterion, how) {
  return assessment(ask(criterion, { ...how, scale: 'one-to-five' }));
}

/**
 * Rates every retrieved chunk on its own (the chunk is `{{retrieved_context}}`
 * in the criterion) and combines the verdicts by `overall`. A chunk that
 * cannot be rated is recorded with its error.
 * @param {string} criterion
 * @param {'yes-no' | 'one-to-five'} [scale]
 * @param {'any-yes' | 'all-yes'} [overall]
 * @param {{overrides?: Record<string, string>, endpoint?: string}} [how]
 */
export function rateChunks(criterion, scale = 'yes-no', overall = 'any-yes', how) {
  return calling(() => hostRateChunks(question(criterion, scale, how), overall)).assessment;
}

/**
 * Asks in full and returns the host's answer: `{ verdict, rationale, usage }`.
 * @param {string} criterion
 * @param {{scale?: 'yes-no' | 'one-to-five', overrides?: Record<string, string>, endpoint?: string}} [how]
 */
export function ask(criterion, how = {}) {
  return calling(() => hostAsk(question(criterion, how.scale ?? 'yes-no', how)));
}

/**
 * One chat completion through an endpoint alias, for judges that write
 * their own prompts. `jsonSchema` asks for structured output where the
 * endpoint supports it.
 * @param {string} endpoint
 * @param {{role: 'system' | 'user' | 'assistant' | 'tool', content: string}[]} messages
 * @param {{jsonSchema?: string, maxOutputTokens?: number}} [options]
 */
export function complete(endpoint, messages, { jsonSchema, maxOutputTokens } = {}) {
  return calling(() => hostComplete({ endpoint, messages, jsonSchema, maxOutputTokens }));
}

/**
 * Renders a Handlebars template against the row being judged, each value
 * fenced in tags named after its variable (`<response>...</response>`).
 * @param {string} template
 * @param {Record<string, string>} [overrides]
 */
export function render(template, overrides) {
  return calling(() => hostRender(template, variables(overrides)));
}

/**
 * Like {@link render}, against another row (a few-shot example's).
 * @param {string} template
 * @param {object} row
 * @param {Record<string, string>} [overrides]
 */
export function renderRow(template, row, overrides) {
  const extra = typeof row.extra === 'string' ? row.extra : JSON.stringify(row.extra ?? {});
  return calling(() => hostRenderRow(template, { ...row, extra }, variables(overrides)));
}

/**
 * Messages for the host's log, tagged with the judge's name (`gavel judge
 * -v` shows them). The host caps how much one evaluation may log.
 * `console.log` and its siblings write there too.
 */
export const log = Object.freeze({
  /** @param {string} message */
  trace: (message) => hostLog('trace', String(message)),
  /** @param {string} message */
  debug: (message) => hostLog('debug', String(message)),
  /** @param {string} message */
  info: (message) => hostLog('info', String(message)),
  /** @param {string} message */
  warn: (message) => hostLog('warn', String(message)),
  /** @param {string} message */
  error: (message) => hostLog('error', String(message)),
});

// The component has no standard output, so `console` writes to the host's
// log instead; only while the judge runs, since the host provides no
// imports while the build loads the module.
let running = false;
for (const [method, level] of [
  ['log', 'info'],
  ['info', 'info'],
  ['debug', 'debug'],
  ['warn', 'warn'],
  ['error', 'error'],
]) {
  globalThis.console[method] = (...values) => {
    if (running) hostLog(level, values.map(show).join(' '));
  };
}

function show(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------
// Registering a judge

const INPUTS = new Set([
  'request',
  'response',
  'expected-response',
  'expected-facts',
  'retrieved-context',
  'expected-retrieved-context',
  'guidelines',
  'global-guidelines',
  'trace',
]);

/** `expected_response`, `expectedResponse` or `expected-response`. */
function input(name) {
  const wit = String(name)
    .replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
    .replaceAll('_', '-');
  if (!INPUTS.has(wit)) {
    throw new TypeError(`unknown input ${JSON.stringify(name)}: expected one of ${[...INPUTS].join(', ').replaceAll('-', '_')}`);
  }
  return wit;
}

function text(spec, field) {
  const value = spec[field];
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`defineJudge: \`${field}\` must be a non-empty string`);
  }
  return value;
}

/**
 * Makes the component's `judge` export from a judge: an object (or class
 * instance) with its description and an `evaluate(row, options, config)`
 * method. Export the result as `judge`:
 * `export const judge = defineJudge({ ... })`.
 *
 * `evaluate` gets the row (its fields as properties: `request`, `response`,
 * `expectedResponse`, `retrievedContext` chunks `{ content, docUri }`, ...,
 * `extra` as an object), the judge's options (`config = { ... }` in
 * gavel.toml, parsed; `{}` when none) and the rest of its configuration
 * (`endpoint`, `threshold`, `examples`). It returns an assessment
 * ({@link yes}, {@link no}, {@link score}, or what {@link askYesNo} and its
 * siblings return) or throws a {@link JudgeError}.
 *
 * @param {object} spec the judge (`JudgeSpec` in index.d.ts)
 */
export function defineJudge(spec) {
  const description = {
    name: text(spec, 'name'),
    version: text(spec, 'version'),
    description: text(spec, 'description'),
    assessmentType: spec.type ?? 'answer',
    requiredInputs: (spec.requires ?? []).map((entry) =>
      (Array.isArray(entry) ? entry : [entry]).map(input),
    ),
    endpoints: [...(spec.endpoints ?? [])],
  };
  if (description.assessmentType !== 'answer' && description.assessmentType !== 'retrieval') {
    throw new TypeError(`defineJudge: \`type\` is "answer" or "retrieval", not ${JSON.stringify(spec.type)}`);
  }
  if (typeof spec.evaluate !== 'function') {
    throw new TypeError('defineJudge: the judge needs an `evaluate(row, options)` method');
  }
  return {
    describe: () => description,
    // The bindings await this and read `{ tag, val }` as the `result`.
    async evaluate(row, config) {
      running = true;
      try {
        const options = parseOptions(config.options);
        const result = await spec.evaluate({ ...row, extra: JSON.parse(row.extra) }, options, config);
        return { tag: 'ok', val: checked(result) };
      } catch (thrown) {
        return { tag: 'err', val: toJudgeError(thrown) };
      }
    },
  };
}

function parseOptions(options) {
  try {
    return JSON.parse(options);
  } catch (error) {
    throw new InvalidConfig(`options: ${error.message}`);
  }
}

const VERDICTS = new Set(['yes', 'no', 'score']);

/** What `evaluate` returned, as the WIT `assessment`. */
function checked(result) {
  if (!VERDICTS.has(result?.verdict?.tag)) {
    throw new Failed(
      `evaluate returned ${JSON.stringify(result)}: return yes(), no(), score() or what askYesNo() returns`,
    );
  }
  return { verdict: result.verdict, rationale: String(result.rationale ?? ''), chunks: result.chunks ?? [] };
}
