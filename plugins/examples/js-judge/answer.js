// Reading a judge LLM's answer: a port of the Rust SDK's `sdk/src/answer.rs`.
//
// Judges ask for `{"rationale": ..., "result": "yes"|"no"}` or
// `{"rationale": ..., "score": 1-5}`, but models wrap JSON in code fences, put
// prose around it, use Python literals, single quotes, trailing commas, other
// key names, or answer `Score: 4` in plain text. `parse` reads all of those
// the way the Rust SDK does; an answer it cannot read yields null, never a
// guessed verdict.
//
// Character classes are Rust's (see `rust-chars.js`); lowercasing is done one
// character at a time, as Rust's `char::to_lowercase` does, and text is walked
// by code points.

import { JsonError, JsonNumber, dumps, loads } from './json-value.js';
import { WHITESPACE_CLASS, isAlphabetic, isAlphanumeric, isWhitespace } from './rust-chars.js';

const WORD = new RegExp(`[^${WHITESPACE_CLASS}]+`, 'gu');
const TRIM_START = new RegExp(`^[${WHITESPACE_CLASS}]+`, 'u');
const TRIM_END = new RegExp(`[${WHITESPACE_CLASS}]+$`, 'u');

const RATIONALE_KEYS = [
  'rationale', 'reason', 'reasoning', 'justification', 'explanation',
  'rationales', 'analysis', 'comment',
];
const RESULT_KEYS = [
  'result', 'rating', 'verdict', 'answer', 'judgment', 'judgement',
  'decision', 'pass', 'passed', 'label',
];
const SCORE_KEYS = ['score', 'rating', 'grade'];

// Bounds the work done on pathological answers (thousands of braces).
const MAX_CANDIDATES = 64;

/**
 * What the judge LLM answered: `result` true for yes, false for no, null when
 * absent; `score` 1-5 or null.
 * @typedef {{ rationale: string, result: boolean | null, score: number | null }} Answer
 */

export function rustTrim(text) {
  return rustTrimStart(text).replace(TRIM_END, '');
}

function rustTrimStart(text) {
  return text.replace(TRIM_START, '');
}

/** `text.split_whitespace().count()`. */
export function countWords(text) {
  return (text.match(WORD) ?? []).length;
}

function isAsciiDigit(c) {
  return c >= '0' && c <= '9' && c.length === 1;
}

function lowercase(text) {
  let out = '';
  for (const c of text) out += c.toLowerCase();
  return out;
}

// The length (in UTF-16 units) of the longest prefix of `text` whose
// characters all satisfy `predicate`.
function prefixLength(text, predicate) {
  let length = 0;
  for (const c of text) {
    if (!predicate(c)) break;
    length += c.length;
  }
  return length;
}

function trimStartWhile(text, predicate) {
  return text.slice(prefixLength(text, predicate));
}

function takeWhile(text, predicate) {
  return text.slice(0, prefixLength(text, predicate));
}

// `str::trim_matches` with ASCII characters.
function trimMatches(text, set) {
  let start = 0;
  let end = text.length;
  while (start < end && set.includes(text[start])) start++;
  while (end > start && set.includes(text[end - 1])) end--;
  return text.slice(start, end);
}

/**
 * Reads a judge answer; null when no verdict can be found.
 * @returns {Answer | null}
 */
export function parse(text) {
  text = rustTrim(text);
  for (const candidate of jsonCandidates(text)) {
    const value = parseObject(candidate);
    if (value === NOTHING) continue;
    const answer = fromJson(value, 0);
    if (answer !== null) return answer;
  }
  return fromLines(text) ?? fromLeadingWord(text);
}

const NOTHING = Symbol('nothing');

// Slices of `text` that may be JSON objects, outermost first: each `{` with
// its balanced `}`, strings taken into account.
function* jsonCandidates(text) {
  let seen = 0;
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    if (seen++ === MAX_CANDIDATES) return;
    const end = balancedEnd(text, start);
    if (end !== null) yield text.slice(start, end);
  }
}

function balancedEnd(text, start) {
  let depth = 0;
  let quote = null;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quote !== null) {
      if (c === '\\') i++; // the escaped character, whatever it is
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return null;
}

function parseObject(candidate) {
  for (const text of [candidate, () => repairJson(candidate)]) {
    try {
      return loads(typeof text === 'function' ? text() : text);
    } catch (error) {
      if (!(error instanceof JsonError)) throw error;
    }
  }
  return NOTHING;
}

function nextNonWhitespace(chars, i) {
  for (; i < chars.length; i++) {
    if (!isWhitespace(chars[i])) return chars[i];
  }
  return null;
}

// Turns the near-JSON models write into JSON: single-quoted strings, Python
// `True`/`False`/`None`, unquoted keys, trailing commas.
function repairJson(text) {
  const chars = Array.from(text);
  const n = chars.length;
  let out = '';
  let i = 0;
  while (i < n) {
    const c = chars[i];
    if (c === '"' || c === "'") {
      out += '"';
      i++;
      while (i < n && chars[i] !== c) {
        const ch = chars[i];
        if (ch === '\\' && i + 1 < n) {
          // `\'` is not a JSON escape; keep every other one.
          if (chars[i + 1] !== "'") out += '\\';
          out += chars[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"') out += '\\"';
        else if (ch === '\n') out += '\\n';
        else out += ch;
        i++;
      }
      out += '"';
      i++;
    } else if (c === ',') {
      const next = nextNonWhitespace(chars, i + 1);
      if (next !== '}' && next !== ']') out += ',';
      i++;
    } else if (isAlphabetic(c) || c === '_') {
      const start = i;
      while (i < n && (isAlphanumeric(chars[i]) || chars[i] === '_')) i++;
      const word = chars.slice(start, i).join('');
      if (word === 'True' || word === 'true') out += 'true';
      else if (word === 'False' || word === 'false') out += 'false';
      else if (word === 'None' || word === 'null') out += 'null';
      else if (nextNonWhitespace(chars, i) === ':') out += `"${word}"`;
      else out += word;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// Reads the verdict out of a JSON value, looking one level into nested
// objects and lists (`{"evaluation": {...}}`, `[{...}]`).
function fromJson(value, depth) {
  if (value instanceof Map) {
    let answer = fromMap(value);
    if (answer === null && depth < 2) {
      for (const item of value.values()) {
        answer = fromJson(item, depth + 1);
        if (answer !== null) break;
      }
    }
    return answer;
  }
  if (Array.isArray(value) && depth < 2) {
    for (const item of value) {
      const answer = fromJson(item, depth + 1);
      if (answer !== null) return answer;
    }
  }
  return null;
}

function fromMap(map) {
  const field = (keys) => {
    for (const [key, value] of map) {
      if (keys.includes(normalizeKey(key))) return value;
    }
    return NOTHING;
  };
  const apply = (value, fn) => (value === NOTHING ? null : fn(value));
  let score = apply(field(SCORE_KEYS), scoreOfValue);
  let result = apply(field(RESULT_KEYS), resultOfValue);
  if (result === null && score === null) {
    // `"result": 4` is a score under another name.
    score = apply(field(RESULT_KEYS), scoreOfValue);
    result = apply(field(SCORE_KEYS), resultOfValue);
  }
  if (result === null && score === null) return null;
  const rationale = field(RATIONALE_KEYS);
  return { rationale: rationale === NOTHING ? '' : textOfValue(rationale), result, score };
}

function normalizeKey(key) {
  let out = '';
  for (const c of key) if (isAlphanumeric(c)) out += c.toLowerCase();
  return out;
}

function textOfValue(value) {
  if (typeof value === 'string') return rustTrim(value);
  if (Array.isArray(value)) return value.map(textOfValue).join(' ');
  if (value === null) return '';
  return dumps(value);
}

function resultOfValue(value) {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return yesNo(value);
  return null;
}

function scoreOfValue(value) {
  if (value instanceof JsonNumber) return scoreOfNumber(value.asF64());
  if (typeof value === 'string') return scoreOfText(value);
  return null;
}

function scoreOfNumber(n) {
  return n >= 1 && n <= 5 && Number.isInteger(n) ? n : null;
}

// `yes`, `No.`, `**PASS**`, `"true"`, `Yes, because ...`.
function yesNo(text) {
  const rest = trimStartWhile(text, (c) => !isAlphanumeric(c));
  const word = lowercase(takeWhile(rest, isAlphanumeric));
  if (['yes', 'y', 'true', 'pass', 'passed'].includes(word)) return true;
  if (['no', 'n', 'false', 'fail', 'failed'].includes(word)) return false;
  return null;
}

// Rust's `str::parse::<f64>` on a string of ASCII digits, '.' and '-'.
function parseF64(text) {
  return /^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/.test(text) ? Number(text) : null;
}

// `4`, `4.0`, `4/5`, `4 / 5`, `4 out of 5`, `**4**`. A score on another scale
// (`8/10`) is not read as 1-5.
function scoreOfText(text) {
  text = trimStartWhile(text, (c) => !isAsciiDigit(c) && c !== '-');
  const number = takeWhile(text, (c) => isAsciiDigit(c) || c === '.' || c === '-');
  const value = parseF64(number.replace(/\.+$/, ''));
  if (value === null) return null;
  const score = scoreOfNumber(value);
  if (score === null) return null;
  const rest = rustTrimStart(text.slice(number.length));
  let scale;
  if (rest.startsWith('/')) scale = rest.slice(1);
  else if (rest.startsWith('out of')) scale = rest.slice('out of'.length);
  else return score;
  return takeWhile(rustTrimStart(scale), isAsciiDigit) === '5' ? score : null;
}

// Rust's `str::lines`: split at \n, drop a \r before it.
function lines(text) {
  const pieces = text.split('\n');
  const last = pieces.pop(); // after the last newline: no line ending of its own
  const result = pieces.map((piece) => (piece.endsWith('\r') ? piece.slice(0, -1) : piece));
  if (last !== '') result.push(last);
  return result;
}

// Plain-text answers: `Score: 4`, `**Result:** no`, `Rationale: ...` (the
// rationale may run over several lines). Lines that are not a key become the
// rationale when no `Rationale:` line is given.
function fromLines(text) {
  let result = null;
  let score = null;
  let rationale = null;
  const prose = [];
  let inRationale = false;
  for (const line of lines(text)) {
    const stripped = trimStartWhile(rustTrim(line), (c) => '#*->` '.includes(c));
    const pair = keyValue(stripped);
    if (pair !== null) {
      const key = pair[0];
      inRationale = false;
      const value = trimMatches(rustTrim(pair[1]), ['*', '`', ' ']);
      if (SCORE_KEYS.includes(key) && score === null) {
        const s = scoreOfText(value);
        if (s !== null) {
          score = s;
          continue;
        }
      }
      if (RESULT_KEYS.includes(key) && result === null) {
        const r = yesNo(value);
        if (r !== null) {
          result = r;
          continue;
        }
      }
      if (RATIONALE_KEYS.includes(key)) {
        rationale = value;
        inRationale = true;
        continue;
      }
    }
    if (rationale !== null && inRationale) rationale += `\n${rustTrim(line)}`;
    else prose.push(rustTrim(line));
  }
  if (result === null && score === null) return null;
  return { rationale: rustTrim(rationale ?? prose.join('\n')), result, score };
}

function utf8Length(text) {
  let length = 0;
  for (const c of text) {
    const code = c.codePointAt(0);
    length += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return length;
}

// `key: value` or `key = value`, with markdown around the key removed.
function keyValue(line) {
  const split = line.search(/[:=]/);
  if (split === -1) return null;
  const key = normalizeKey(line.slice(0, split));
  if (key === '' || utf8Length(key) > 20) return null;
  return [key, line.slice(split + 1)];
}

function isAsciiPunctuation(c) {
  return c.length === 1 && c >= '!' && c <= '~' && !/[0-9A-Za-z]/.test(c);
}

// `Yes. The response ...`, `no`, or a bare `4`.
function fromLeadingWord(text) {
  const unquoted = trimMatches(text, ['"', "'", '`', '*']);
  const score = scoreOfText(unquoted);
  if (score !== null && /^[0-9.]*$/.test(rustTrim(unquoted))) {
    return { rationale: '', result: null, score };
  }
  const result = yesNo(unquoted);
  if (result === null) return null;
  const body = trimStartWhile(unquoted, (c) => !isAlphanumeric(c));
  const word = takeWhile(body, isAlphanumeric);
  const rationale = trimStartWhile(body.slice(word.length), (c) => isAsciiPunctuation(c) || isWhitespace(c));
  return { rationale: rustTrim(rationale), result, score: null };
}
