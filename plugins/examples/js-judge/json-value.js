// JSON read and written exactly as the Rust SDK's `serde_json` does it.
//
// `JSON.parse` differs from `serde_json` in ways that change a judge's
// verdict or rationale: it has no depth limit, cannot tell `3` from `3.0`,
// reorders integer-like keys, and prints numbers differently. This module
// follows `serde_json` 1.0 (with `preserve_order`):
//
// * null, true, false -> null, true, false; strings -> strings; arrays ->
//   arrays; objects -> `Map`s in file order (a repeated key keeps its first
//   place and its last value);
// * numbers -> `JsonNumber`: kind "pos" (a u64, as a BigInt), "neg" (an i64
//   below zero, as a BigInt) or "float" (an f64, computed the way serde_json
//   computes it);
// * `dumps` writes compact JSON the way `Value::to_string` does.

const U64_MAX = (1n << 64n) - 1n;
const I63 = 1n << 63n;
const I32_MAX = 2147483647;
const I32_MIN = -2147483648;
const MAX_DEPTH = 128; // serde_json's recursion limit: 127 nested arrays/objects
const POW10 = Array.from({ length: 309 }, (_, i) => Number(`1e${i}`));
const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const HEX4 = /^[0-9A-Fa-f]{4}$/;

export class JsonError extends Error {}

/** A JSON number: kind "pos" (u64), "neg" (negative i64) or "float". */
export class JsonNumber {
  constructor(kind, value) {
    this.kind = kind;
    this.value = value;
  }

  /** The number as a BigInt when it is a u64, else null. */
  asU64() {
    return this.kind === 'pos' ? this.value : null;
  }

  asF64() {
    return Number(this.value);
  }
}

/** Parses `text` as one JSON value; throws JsonError where serde_json errs. */
export function loads(text) {
  const parser = new Parser(text);
  const value = parser.value();
  parser.whitespace();
  if (parser.i !== text.length) throw new JsonError('trailing characters');
  return value;
}

// serde_json's `overflow!(a * 10 + digit, u64::MAX)`, on BigInts.
function overflowsU64(a, digit) {
  return a >= U64_MAX / 10n && (a > U64_MAX / 10n || digit > U64_MAX % 10n);
}

// serde_json's `overflow!(exp * 10 + digit, i32::MAX)`.
function overflowsI32(a, digit) {
  const limit = Math.floor(I32_MAX / 10);
  return a >= limit && (a > limit || digit > I32_MAX % 10);
}

function isDigit(c) {
  return c >= '0' && c <= '9' && c.length === 1;
}

class Parser {
  constructor(text) {
    this.s = text;
    this.i = 0;
    this.depth = MAX_DEPTH;
  }

  peek() {
    return this.i < this.s.length ? this.s[this.i] : '';
  }

  peekDigit() {
    const c = this.peek();
    return isDigit(c) ? c.charCodeAt(0) - 48 : null;
  }

  whitespace() {
    const s = this.s;
    let i = this.i;
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
    this.i = i;
  }

  value() {
    this.whitespace();
    const c = this.peek();
    switch (c) {
      case 'n':
        return this.literal('null', null);
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case '-':
        this.i++;
        return this.number(false);
      case '"':
        this.i++;
        return this.string();
      case '[':
        return this.array();
      case '{':
        return this.object();
      default:
        if (isDigit(c)) return this.number(true);
        throw new JsonError('expected value');
    }
  }

  literal(word, value) {
    if (!this.s.startsWith(word, this.i)) throw new JsonError(`expected ${word}`);
    this.i += word.length;
    return value;
  }

  enter() {
    this.depth -= 1;
    if (this.depth === 0) throw new JsonError('recursion limit exceeded');
    this.i++;
  }

  array() {
    this.enter();
    const items = [];
    this.whitespace();
    if (this.peek() === ']') {
      this.i++;
    } else {
      for (;;) {
        items.push(this.value());
        this.whitespace();
        const c = this.peek();
        this.i++;
        if (c === ']') break;
        if (c !== ',') throw new JsonError('expected , or ]');
      }
    }
    this.depth += 1;
    return items;
  }

  object() {
    this.enter();
    const items = new Map();
    this.whitespace();
    if (this.peek() === '}') {
      this.i++;
    } else {
      for (;;) {
        this.whitespace();
        if (this.peek() !== '"') throw new JsonError('key must be a string');
        this.i++;
        const key = this.string();
        this.whitespace();
        if (this.peek() !== ':') throw new JsonError('expected :');
        this.i++;
        items.set(key, this.value());
        this.whitespace();
        const c = this.peek();
        this.i++;
        if (c === '}') break;
        if (c !== ',') throw new JsonError('expected , or }');
      }
    }
    this.depth += 1;
    return items;
  }

  string() {
    const s = this.s;
    let out = '';
    for (;;) {
      let j = this.i;
      while (j < s.length) {
        const code = s.charCodeAt(j);
        if (code === 0x22 || code === 0x5c || code < 0x20) break;
        j++;
      }
      out += s.slice(this.i, j);
      this.i = j;
      const c = this.peek();
      this.i++;
      if (c === '"') return out;
      if (c !== '\\') throw new JsonError('control character or end of input in string');
      const e = this.peek();
      this.i++;
      if (e === 'u') out += this.unicodeEscape();
      else if (e !== '' && Object.hasOwn(ESCAPES, e)) out += ESCAPES[e];
      else throw new JsonError('invalid escape');
    }
  }

  hex4() {
    const digits = this.s.slice(this.i, this.i + 4);
    if (!HEX4.test(digits)) throw new JsonError('invalid \\u escape');
    this.i += 4;
    return parseInt(digits, 16);
  }

  unicodeEscape() {
    const n = this.hex4();
    if (n >= 0xdc00 && n <= 0xdfff) throw new JsonError('lone trailing surrogate');
    if (n < 0xd800 || n > 0xdbff) return String.fromCharCode(n);
    if (!this.s.startsWith('\\u', this.i)) throw new JsonError('unexpected end of hex escape');
    this.i += 2;
    const n2 = this.hex4();
    if (n2 < 0xdc00 || n2 > 0xdfff) throw new JsonError('lone leading surrogate');
    return String.fromCharCode(n, n2);
  }

  // Numbers, step by step as serde_json reads them (without its
  // `float_roundtrip` feature, so floats come out the same, last bit too).

  number(positive) {
    const c = this.peek();
    this.i++;
    if (c === '0') {
      if (this.peekDigit() !== null) throw new JsonError('invalid number');
      return this.afterInteger(positive, 0n);
    }
    if (!isDigit(c)) throw new JsonError('invalid number');
    let significand = BigInt(c);
    for (;;) {
      const digit = this.peekDigit();
      if (digit === null) return this.afterInteger(positive, significand);
      if (overflowsU64(significand, BigInt(digit))) {
        return new JsonNumber('float', this.longInteger(positive, significand));
      }
      this.i++;
      significand = significand * 10n + BigInt(digit);
    }
  }

  afterInteger(positive, significand) {
    const c = this.peek();
    if (c === '.') return new JsonNumber('float', this.decimal(positive, significand, 0));
    if (c === 'e' || c === 'E') return new JsonNumber('float', this.exponent(positive, significand, 0));
    if (positive) return new JsonNumber('pos', significand);
    if (significand === 0n || significand > I63) return new JsonNumber('float', -Number(significand));
    return new JsonNumber('neg', -significand);
  }

  longInteger(positive, significand) {
    let exponent = 0;
    for (;;) {
      const c = this.peek();
      if (isDigit(c)) {
        this.i++;
        exponent += 1;
      } else if (c === '.') {
        return this.decimal(positive, significand, exponent);
      } else if (c === 'e' || c === 'E') {
        return this.exponent(positive, significand, exponent);
      } else {
        return fromParts(positive, significand, exponent);
      }
    }
  }

  decimal(positive, significand, exponentBefore) {
    this.i++;
    let after = 0;
    for (;;) {
      const digit = this.peekDigit();
      if (digit === null) break;
      if (overflowsU64(significand, BigInt(digit))) {
        while (this.peekDigit() !== null) this.i++;
        return this.afterDecimal(positive, significand, exponentBefore + after);
      }
      this.i++;
      significand = significand * 10n + BigInt(digit);
      after -= 1;
    }
    if (after === 0) throw new JsonError('invalid number');
    return this.afterDecimal(positive, significand, exponentBefore + after);
  }

  afterDecimal(positive, significand, exponent) {
    const c = this.peek();
    if (c === 'e' || c === 'E') return this.exponent(positive, significand, exponent);
    return fromParts(positive, significand, exponent);
  }

  exponent(positive, significand, starting) {
    this.i++;
    let positiveExp = true;
    if (this.peek() === '+') {
      this.i++;
    } else if (this.peek() === '-') {
      this.i++;
      positiveExp = false;
    }
    let exp = this.peekDigit();
    if (exp === null) throw new JsonError('invalid number');
    this.i++;
    for (;;) {
      const digit = this.peekDigit();
      if (digit === null) break;
      this.i++;
      if (overflowsI32(exp, digit)) {
        if (significand !== 0n && positiveExp) throw new JsonError('number out of range');
        while (this.peekDigit() !== null) this.i++;
        return positive ? 0 : -0;
      }
      exp = exp * 10 + digit;
    }
    const final = positiveExp ? starting + exp : starting - exp;
    return fromParts(positive, significand, Math.max(I32_MIN, Math.min(I32_MAX, final)));
  }
}

function fromParts(positive, significand, exponent) {
  let f = Number(significand);
  for (;;) {
    if (Math.abs(exponent) < POW10.length) {
      if (exponent >= 0) {
        f *= POW10[exponent];
        if (!Number.isFinite(f)) throw new JsonError('number out of range');
      } else {
        f /= POW10[-exponent];
      }
      break;
    }
    if (f === 0) break;
    if (exponent >= 0) throw new JsonError('number out of range');
    f /= 1e308;
    exponent += 308;
  }
  return positive ? f : -f;
}

// Writing.

const NAMED = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

export function quote(text) {
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/["\\\u0000-\u001f]/g, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `"${escaped}"`;
}

/** Compact JSON, as serde_json's `Value::to_string` writes it. */
export function dumps(value) {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (value instanceof JsonNumber) return value.kind === 'float' ? formatF64(value.value) : String(value.value);
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `[${value.map(dumps).join(',')}]`;
  if (value instanceof Map) {
    return `{${Array.from(value, ([k, v]) => `${quote(k)}:${dumps(v)}`).join(',')}}`;
  }
  throw new TypeError(`not a JSON value: ${value}`);
}

/**
 * A finite f64 the way serde_json writes it: shortest digits, plain notation
 * for exponents -5..=15 ("100.0", "0.00001"), else "1.5e+16".
 */
export function formatF64(f) {
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  const sign = f < 0 ? '-' : '';
  const [mantissa, exp = '0'] = String(Math.abs(f)).split('e');
  const [whole, fraction = ''] = mantissa.split('.');
  const allDigits = whole + fraction;
  let digits = allDigits.replace(/^0+/, '');
  const e = whole.length + Number(exp) - (allDigits.length - digits.length) - 1;
  digits = digits.replace(/0+$/, '') || '0';
  const n = digits.length;
  let text;
  if (e >= -5 && e <= 15) {
    if (n - 1 <= e) text = `${digits}${'0'.repeat(e - n + 1)}.0`;
    else if (e >= 0) text = `${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
    else text = `0.${'0'.repeat(-e - 1)}${digits}`;
  } else {
    text = `${digits[0]}${n > 1 ? `.${digits.slice(1)}` : ''}e${e < 0 ? '-' : '+'}${Math.abs(e)}`;
  }
  return sign + text;
}
