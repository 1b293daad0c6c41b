//! Reading a judge LLM's answer.
//!
//! Judges ask for `{"rationale": ..., "result": "yes"|"no"}` or
//! `{"rationale": ..., "score": 1-5}`, but models wrap JSON in code fences,
//! put prose around it, use Python literals, single quotes, trailing commas,
//! other key names, or answer `Score: 4` in plain text. [`parse`] reads all of
//! those; an answer it cannot read yields `None`, never a guessed verdict.

use serde_json::{Map, Value};

use crate::bindings::{Scale, Verdict};

/// What the judge LLM answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rationale: String,
    /// `Some(true)` for yes.
    pub result: Option<bool>,
    /// A score on the 1-5 scale.
    pub score: Option<u8>,
}

impl Answer {
    /// The verdict on `scale`; falls back to the other form when the model
    /// gave only that one (a score from a yes/no judge is still readable).
    pub fn verdict(&self, scale: Scale) -> Verdict {
        let yes_no = self
            .result
            .map(|yes| if yes { Verdict::Yes } else { Verdict::No });
        let score = self.score.map(Verdict::Score);
        let (preferred, fallback) = match scale {
            Scale::YesNo => (yes_no, score),
            Scale::OneToFive => (score, yes_no),
        };
        preferred
            .or(fallback)
            .expect("an Answer always has a result or a score")
    }
}

const RATIONALE_KEYS: &[&str] = &[
    "rationale",
    "reason",
    "reasoning",
    "justification",
    "explanation",
    "rationales",
    "analysis",
    "comment",
];
const RESULT_KEYS: &[&str] = &[
    "result",
    "rating",
    "verdict",
    "answer",
    "judgment",
    "judgement",
    "decision",
    "pass",
    "passed",
    "label",
];
const SCORE_KEYS: &[&str] = &["score", "rating", "grade"];

/// Bounds the work done on pathological answers (thousands of braces).
const MAX_CANDIDATES: usize = 64;

/// Reads a judge answer; `None` when no verdict can be found.
pub fn parse(text: &str) -> Option<Answer> {
    let text = text.trim();
    json_candidates(text)
        .filter_map(parse_object)
        .find_map(|value| from_json(&value, 0))
        .or_else(|| from_lines(text))
        .or_else(|| from_leading_word(text))
}

/// Slices of `text` that may be JSON objects, outermost first: each `{` with
/// its balanced `}`, strings taken into account.
fn json_candidates(text: &str) -> impl Iterator<Item = &str> {
    text.char_indices()
        .filter(|&(_, c)| c == '{')
        .take(MAX_CANDIDATES)
        .filter_map(move |(start, _)| {
            balanced_end(&text[start..]).map(|len| &text[start..start + len])
        })
}

fn balanced_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_object(candidate: &str) -> Option<Value> {
    serde_json::from_str(candidate)
        .ok()
        .or_else(|| serde_json::from_str(&repair_json(candidate)).ok())
}

/// Turns the near-JSON models write into JSON: single-quoted strings, Python
/// `True`/`False`/`None`, unquoted keys, trailing commas.
fn repair_json(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != c {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            // `\'` is not a JSON escape; keep every other one.
                            if chars[i + 1] != '\'' {
                                out.push('\\');
                            }
                            out.push(chars[i + 1]);
                            i += 2;
                            continue;
                        }
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        other => out.push(other),
                    }
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            ',' => {
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if !matches!(next, Some('}') | Some(']')) {
                    out.push(',');
                }
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                match word.as_str() {
                    "True" | "true" => out.push_str("true"),
                    "False" | "false" => out.push_str("false"),
                    "None" | "null" => out.push_str("null"),
                    _ if next == Some(&':') => {
                        out.push('"');
                        out.push_str(&word);
                        out.push('"');
                    }
                    _ => out.push_str(&word),
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

/// Reads the verdict out of a JSON value, looking one level into nested
/// objects and lists (`{"evaluation": {...}}`, `[{...}]`).
fn from_json(value: &Value, depth: u8) -> Option<Answer> {
    match value {
        Value::Object(map) => from_map(map).or_else(|| {
            (depth < 2)
                .then(|| map.values().find_map(|v| from_json(v, depth + 1)))
                .flatten()
        }),
        Value::Array(items) if depth < 2 => items.iter().find_map(|v| from_json(v, depth + 1)),
        _ => None,
    }
}

fn from_map(map: &Map<String, Value>) -> Option<Answer> {
    let field = |keys: &[&str]| {
        map.iter()
            .find(|(key, _)| keys.contains(&normalize_key(key).as_str()))
            .map(|(_, value)| value)
    };
    let mut score = field(SCORE_KEYS).and_then(score_of_value);
    let mut result = field(RESULT_KEYS).and_then(result_of_value);
    if result.is_none() && score.is_none() {
        // `"result": 4` is a score under another name.
        score = field(RESULT_KEYS).and_then(score_of_value);
        result = field(SCORE_KEYS).and_then(result_of_value);
    }
    if result.is_none() && score.is_none() {
        return None;
    }
    let rationale = field(RATIONALE_KEYS).map(text_of_value).unwrap_or_default();
    Some(Answer {
        rationale,
        result,
        score,
    })
}

fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn text_of_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Array(items) => items
            .iter()
            .map(text_of_value)
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn result_of_value(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => yes_no(s),
        _ => None,
    }
}

fn score_of_value(value: &Value) -> Option<u8> {
    match value {
        Value::Number(n) => n.as_f64().and_then(score_of_number),
        Value::String(s) => score_of_text(s),
        _ => None,
    }
}

fn score_of_number(n: f64) -> Option<u8> {
    (n.fract() == 0.0 && (1.0..=5.0).contains(&n)).then_some(n as u8)
}

/// `yes`, `No.`, `**PASS**`, `"true"`, `Yes, because ...`.
fn yes_no(text: &str) -> Option<bool> {
    let word: String = text
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match word.as_str() {
        "yes" | "y" | "true" | "pass" | "passed" => Some(true),
        "no" | "n" | "false" | "fail" | "failed" => Some(false),
        _ => None,
    }
}

/// `4`, `4.0`, `4/5`, `4 / 5`, `4 out of 5`, `**4**`. A score on another
/// scale (`8/10`) is not read as 1-5.
fn score_of_text(text: &str) -> Option<u8> {
    let text = text.trim_start_matches(|c: char| !c.is_ascii_digit() && c != '-');
    let number: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    let score = score_of_number(number.trim_end_matches('.').parse().ok()?)?;
    let rest = text[number.len()..].trim_start();
    let scale = rest
        .strip_prefix('/')
        .or_else(|| rest.strip_prefix("out of"))
        .map(|s| {
            s.trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        });
    match scale.as_deref() {
        None | Some("5") => Some(score),
        Some(_) => None,
    }
}

/// Plain-text answers: `Score: 4`, `**Result:** no`, `Rationale: ...` (the
/// rationale may run over several lines). Lines that are not a key become the
/// rationale when no `Rationale:` line is given.
fn from_lines(text: &str) -> Option<Answer> {
    let mut result = None;
    let mut score = None;
    let mut rationale: Option<String> = None;
    let mut prose = Vec::new();
    let mut in_rationale = false;
    for line in text.lines() {
        let stripped = line
            .trim()
            .trim_start_matches(['#', '*', '-', '>', ' ', '`']);
        if let Some((key, value)) = key_value(stripped) {
            in_rationale = false;
            let value = value.trim().trim_matches(['*', '`', ' ']);
            if SCORE_KEYS.contains(&key.as_str())
                && score.is_none()
                && let Some(s) = score_of_text(value)
            {
                score = Some(s);
                continue;
            }
            if RESULT_KEYS.contains(&key.as_str())
                && result.is_none()
                && let Some(r) = yes_no(value)
            {
                result = Some(r);
                continue;
            }
            if RATIONALE_KEYS.contains(&key.as_str()) {
                rationale = Some(value.to_owned());
                in_rationale = true;
                continue;
            }
        }
        match (&mut rationale, in_rationale) {
            (Some(r), true) => {
                r.push('\n');
                r.push_str(line.trim());
            }
            _ => prose.push(line.trim()),
        }
    }
    if result.is_none() && score.is_none() {
        return None;
    }
    let rationale = rationale.unwrap_or_else(|| prose.join("\n"));
    Some(Answer {
        rationale: rationale.trim().to_owned(),
        result,
        score,
    })
}

/// `key: value` or `key = value`, with markdown around the key removed.
fn key_value(line: &str) -> Option<(String, &str)> {
    let split = line.find([':', '='])?;
    let key = normalize_key(&line[..split]);
    if key.is_empty() || key.len() > 20 {
        return None;
    }
    Some((key, &line[split + 1..]))
}

/// `Yes. The response ...`, `no`, or a bare `4`.
fn from_leading_word(text: &str) -> Option<Answer> {
    let unquoted = text.trim_matches(|c: char| c == '"' || c == '\'' || c == '`' || c == '*');
    if let Some(score) = score_of_text(unquoted).filter(|_| {
        unquoted
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
    }) {
        return Some(Answer {
            rationale: String::new(),
            result: None,
            score: Some(score),
        });
    }
    let result = yes_no(unquoted)?;
    let body = unquoted.trim_start_matches(|c: char| !c.is_alphanumeric());
    let word_len = body
        .find(|c: char| !c.is_alphanumeric())
        .unwrap_or(body.len());
    let rationale = body[word_len..]
        .trim_start_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .trim()
        .to_owned();
    Some(Answer {
        rationale,
        result: Some(result),
        score: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(rationale: &str) -> Option<Answer> {
        Some(Answer {
            rationale: rationale.to_owned(),
            result: Some(true),
            score: None,
        })
    }

    fn no(rationale: &str) -> Option<Answer> {
        Some(Answer {
            rationale: rationale.to_owned(),
            result: Some(false),
            score: None,
        })
    }

    fn score(score: u8, rationale: &str) -> Option<Answer> {
        Some(Answer {
            rationale: rationale.to_owned(),
            result: None,
            score: Some(score),
        })
    }

    #[test]
    fn plain_json() {
        assert_eq!(parse(r#"{"rationale": "ok", "result": "yes"}"#), yes("ok"));
        assert_eq!(parse(r#"{"rationale": "bad", "result": "no"}"#), no("bad"));
        assert_eq!(
            parse(r#"{"rationale": "fine", "score": 4}"#),
            score(4, "fine")
        );
    }

    #[test]
    fn code_fences_and_prose_around_json() {
        let text = "Here is my evaluation:\n```json\n{\"rationale\": \"The {fact} is stated.\", \"result\": \"Yes\"}\n```\nHope this helps.";
        assert_eq!(parse(text), yes("The {fact} is stated."));
    }

    #[test]
    fn other_key_names_and_types() {
        assert_eq!(parse(r#"{"Reasoning": "r", "Verdict": true}"#), yes("r"));
        assert_eq!(parse(r#"{"justification": "j", "pass": false}"#), no("j"));
        assert_eq!(parse(r#"{"reason": "x", "score": "4/5"}"#), score(4, "x"));
        assert_eq!(parse(r#"{"reason": "x", "score": 5.0}"#), score(5, "x"));
        assert_eq!(parse(r#"{"reason": "x", "result": 2}"#), score(2, "x"));
        assert_eq!(parse(r#"{"reason": "x", "rating": "no"}"#), no("x"));
    }

    #[test]
    fn python_style_and_trailing_commas() {
        assert_eq!(
            parse("{'rationale': 'it\\'s fine', 'result': 'yes',}"),
            yes("it's fine")
        );
        assert_eq!(parse("{rationale: \"ok\", pass: True}"), yes("ok"));
        assert_eq!(
            parse("{'rationale': 'He said \"hi\"', 'score': 3}"),
            score(3, "He said \"hi\"")
        );
    }

    #[test]
    fn nested_objects() {
        assert_eq!(
            parse(r#"{"evaluation": {"rationale": "deep", "result": "no"}}"#),
            no("deep")
        );
        assert_eq!(parse(r#"[{"rationale": "a", "score": 1}]"#), score(1, "a"));
        assert_eq!(
            parse(r#"{"x": [{"rationale": "b", "score": 2}]}"#),
            score(2, "b")
        );
    }

    #[test]
    fn plain_text_lines() {
        assert_eq!(
            parse("The answer covers every fact.\n\nScore: 4"),
            score(4, "The answer covers every fact.")
        );
        assert_eq!(
            parse("**Rationale:** Misses the date.\nIt also adds a wrong name.\n**Result:** No"),
            no("Misses the date.\nIt also adds a wrong name.")
        );
        assert_eq!(
            parse("score = 2 out of 5\nreason: vague"),
            score(2, "vague")
        );
    }

    #[test]
    fn leading_word() {
        assert_eq!(
            parse("Yes. The response is grounded."),
            yes("The response is grounded.")
        );
        assert_eq!(parse("no"), no(""));
        assert_eq!(parse("\"No\""), no(""));
        assert_eq!(parse("3"), score(3, ""));
    }

    #[test]
    fn unreadable_answers_are_none() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("I cannot evaluate this."), None);
        assert_eq!(parse(r#"{"rationale": "no verdict here"}"#), None);
        assert_eq!(parse(r#"{"rationale": "x", "score": 7}"#), None);
        assert_eq!(parse("Score: 8/10"), None);
        assert_eq!(parse("{{{{{{{{{{{{{{{{"), None);
    }

    #[test]
    fn verdict_prefers_the_scale_asked_for() {
        let both = Answer {
            rationale: String::new(),
            result: Some(false),
            score: Some(5),
        };
        assert_eq!(both.verdict(Scale::YesNo), Verdict::No);
        assert_eq!(both.verdict(Scale::OneToFive), Verdict::Score(5));
        let only_yes = yes("").unwrap();
        assert_eq!(only_yes.verdict(Scale::OneToFive), Verdict::Yes);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::parse;

    proptest! {
        /// Anything an LLM may answer is read or refused, never a panic.
        #[test]
        fn any_text_is_read_or_refused(text in ".{0,200}") {
            let _ = parse(&text);
        }

        /// A well-formed verdict is read back as written, inside prose and
        /// code fences too.
        #[test]
        fn a_verdict_is_read_as_written(
            rationale in "[^\"\\\\]{0,60}",
            yes in any::<bool>(),
            before in "[a-zA-Z .]{0,20}",
        ) {
            let result = if yes { "yes" } else { "no" };
            let json = serde_json::json!({"rationale": rationale, "result": result}).to_string();
            let answer = parse(&format!("{before}\n```json\n{json}\n```")).unwrap();
            prop_assert_eq!(answer.result, Some(yes));
            prop_assert_eq!(answer.rationale, rationale.trim());
        }
    }
}
