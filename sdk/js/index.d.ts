// Types of the gavel-judge module (index.js), for editors and TypeScript.
// The shapes are those of the WIT package `gavel:judge` (wit/*.wit) as
// componentize-js maps them: records are objects with camelCase fields,
// `option<T>` is `T | undefined`, variants are `{ tag, val }`.

/** An input a judge can require, by its name in the evaluation set. */
export type Input =
  | 'request'
  | 'response'
  | 'expected_response'
  | 'expected_facts'
  | 'retrieved_context'
  | 'expected_retrieved_context'
  | 'guidelines'
  | 'global_guidelines'
  | 'trace';

export interface Message {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

/** One retrieved (or expected) document chunk; either field may be missing. */
export interface Chunk {
  content?: string;
  docUri?: string;
}

/** A group of guidelines; `name` is set for named groups. */
export interface GuidelineGroup {
  name?: string;
  rules: string[];
}

/** One row of the evaluation set, normalised. Empty lists and `undefined` mean the row lacks that input. */
export interface Row {
  /** Stable id of the row (the input's `request_id`, or its index). */
  requestId: string;
  /** The request text, or for a conversation the last user message. */
  request: string;
  conversation: Message[];
  response?: string;
  expectedResponse?: string;
  expectedFacts: string[];
  retrievedContext: Chunk[];
  expectedRetrievedContext: Chunk[];
  /** For a judge that requires `guidelines`, one group per call. */
  guidelines: GuidelineGroup[];
  globalGuidelines: GuidelineGroup[];
  /** The row's MLflow trace, as JSON text. */
  trace?: string;
  /** Every other field of the input row. */
  extra: Record<string, unknown>;
}

/** `yes` always means good quality; a 1-5 score becomes yes/no by the threshold. */
export type Verdict = { tag: 'yes' } | { tag: 'no' } | { tag: 'score'; val: number };

export interface ChunkAssessment {
  verdict: Verdict;
  rationale: string;
}

/** One chunk's verdict, or the error that kept it from being rated. */
export type ChunkResult = { tag: 'ok'; val: ChunkAssessment } | { tag: 'err'; val: string };

export interface Assessment {
  verdict: Verdict;
  rationale: string;
  /** Per-chunk verdicts of retrieval judges that rate chunks one by one. */
  chunks: ChunkResult[];
}

/** A few-shot example. Its row is as the host sent it (`extra` is JSON text). */
export interface Example {
  row: Omit<Row, 'extra'> & { extra: string };
  verdict: Verdict;
  rationale: string;
}

/** The judge's configuration for the run, besides its options. */
export interface JudgeConfig {
  /** The options as JSON text (`evaluate` gets them parsed). */
  options: string;
  /** The endpoint alias for the judge's LLM calls. */
  endpoint: string;
  /** A score above this is a yes. */
  threshold: number;
  /** At most five; `askYesNo` and its siblings use them already. */
  examples: Example[];
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export type LlmErrorValue =
  | { tag: 'not-allowed'; val: string }
  | { tag: 'budget-exceeded'; val: number }
  | { tag: 'timeout' }
  | { tag: 'upstream'; val: string };

/** What a judge describes itself with. */
export interface JudgeSpec<Options = any> {
  /** Name in outputs: lowercase letters, digits and `_`. */
  name: string;
  /** Semantic version; part of the response cache key. */
  version: string;
  description: string;
  /** `answer` (the default) rates the response, `retrieval` the retrieved context. */
  type?: 'answer' | 'retrieval';
  /**
   * Inputs a row must have for the judge to run on it: each entry is an input,
   * or a list of inputs any one of which will do
   * (`["request", ["expected_response", "expected_facts"]]`).
   */
  requires?: (Input | Input[])[];
  /** Endpoint aliases called by name, besides the configured one. */
  endpoints?: string[];
  /**
   * Judges one row. Return an assessment or throw a `JudgeError`; anything
   * else thrown becomes a `Failed` error with its message.
   */
  evaluate(row: Row, options: Options, config: JudgeConfig): Assessment | Promise<Assessment>;
}

/** The component's `judge` export. */
export interface JudgeExport {
  describe(): unknown;
  evaluate(row: unknown, config: unknown): Promise<unknown>;
}

/** Makes the `judge` export: `export const judge = defineJudge({ ... })`. */
export function defineJudge<Options = any>(spec: JudgeSpec<Options>): JudgeExport;

export function yes(rationale?: string): Assessment;
export function no(rationale?: string): Assessment;
/** A score from 1 to 5; the host applies the threshold. */
export function score(value: number, rationale?: string): Assessment;

/** How to ask: variables that add to or replace the row's; another endpoint alias. */
export interface AskOptions {
  overrides?: Record<string, string>;
  endpoint?: string;
}

export type Scale = 'yes-no' | 'one-to-five';
export type Overall = 'any-yes' | 'all-yes';

/** Whether the row meets `criterion`, a Handlebars template (`{{request}}`, `{{response}}`, ...). */
export function askYesNo(criterion: string, how?: AskOptions): Assessment;
/** Like `askYesNo`, on a 1-5 scale. */
export function askScore(criterion: string, how?: AskOptions): Assessment;
/** Rates each retrieved chunk (as `{{retrieved_context}}`) and combines the verdicts. */
export function rateChunks(criterion: string, scale?: Scale, overall?: Overall, how?: AskOptions): Assessment;
/** Asks in full and returns the host's answer with its token usage. */
export function ask(
  criterion: string,
  how?: AskOptions & { scale?: Scale },
): { verdict: Verdict; rationale: string; usage: Usage };

/** One chat completion through an endpoint alias. */
export function complete(
  endpoint: string,
  messages: Message[],
  options?: { jsonSchema?: string; maxOutputTokens?: number },
): { content: string; usage: Usage };
/** Renders a template against the row being judged, values fenced in tags. */
export function render(template: string, overrides?: Record<string, string>): string;
/** Renders a template against another row (a few-shot example's). */
export function renderRow(
  template: string,
  row: Row | Example['row'],
  overrides?: Record<string, string>,
): string;

/** The host's log, tagged with the judge's name; `console.log` and its siblings write there too. */
export const log: {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
};

/** An error the host records as the judgment's error (WIT `judge-error`). */
export class JudgeError extends Error {
  readonly tag: 'missing-input' | 'invalid-config' | 'llm' | 'unparsable-answer' | 'failed';
  readonly value: unknown;
  protected constructor(tag: string, value: unknown, message: string);
}
/** The row lacks an input the judge needs. */
export class MissingInput extends JudgeError {
  constructor(input: string);
}
/** The judge's options (or a prompt template) are not usable. */
export class InvalidConfig extends JudgeError {
  constructor(message: string);
}
/** An LLM call failed. */
export class LlmError extends JudgeError {
  constructor(error: LlmErrorValue);
}
/** The LLM's answers could not be read as a verdict. */
export class UnparsableAnswer extends JudgeError {
  constructor(answer: string);
}
/** Anything else. */
export class Failed extends JudgeError {
  constructor(message: string);
}
