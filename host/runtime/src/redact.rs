//! Secrets in URLs and command lines, masked before they are recorded:
//! run.json (and so the report, the run history and MLflow, which read it),
//! MLflow params, and the errors that name an endpoint or an agent.
//!
//! What is masked (with `***`):
//! - in a URL, the userinfo (`https://user:pass@host` -> `https://***@host`)
//!   and the values of query (and fragment) parameters whose names look
//!   secret (`?api-key=...`, `&sig=...`, `access_token`, `code`);
//! - in a command line, besides its URLs: `NAME=value` environment
//!   assignments and `--name=value` flags whose names look secret, the word
//!   after a secret-looking flag (`--api-key X`, `--password X`, `-p X`),
//!   `Authorization: Bearer X` and `X-Api-Key: X` headers.
//!
//! A name looks secret when, lowercased without separators, it ends with
//! `key`, `token`, `secret`, `password`, `passwd`, `pwd`, `pass`, `sig`,
//! `signature`, `credential(s)`, `auth`, `authorization` or `cookie`, or is
//! `code`: `OPENAI_API_KEY`, `X-Amz-Signature` and `clientSecret` are;
//! `--max-tokens` is not. Masking more than needed costs a less readable
//! record; masking less costs a leaked key, so the rules lean to masking.

/// What a secret is replaced with.
pub const MASK: &str = "***";

const SECRET_SUFFIXES: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "pass",
    "sig",
    "signature",
    "credential",
    "credentials",
    "auth",
    "authorization",
    "cookie",
];

/// Whether a parameter, flag, header or variable of this name holds a
/// secret (leading dashes ignored).
pub fn is_secret_name(name: &str) -> bool {
    let joined: String = name
        .trim_start_matches('-')
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    !joined.is_empty() && (joined == "code" || SECRET_SUFFIXES.iter().any(|s| joined.ends_with(s)))
}

/// `text` with every `scheme://...` URL in it redacted; text without URLs
/// comes back as it is.
pub fn urls_in_text(text: &str) -> String {
    if !text.contains("://") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("://") {
        // The scheme: letters, digits, `+ - .` before `://`.
        let scheme_start = rest[..found]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(found, |(i, _)| i);
        let after = found + 3;
        let len = rest[after..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(rest.len() - after);
        // Punctuation ending a sentence is not part of the URL.
        let url_end = after
            + rest[after..after + len]
                .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}'])
                .len();
        out.push_str(&rest[..scheme_start]);
        if scheme_start == found {
            // `://` without a scheme: not a URL.
            out.push_str(&rest[found..after]);
            rest = &rest[after..];
            continue;
        }
        out.push_str(&rest[scheme_start..after]);
        out.push_str(&redact_after_scheme(&rest[after..url_end]));
        rest = &rest[url_end..];
    }
    out.push_str(rest);
    out
}

/// The part of a URL after `scheme://`.
fn redact_after_scheme(url: &str) -> String {
    let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let (authority, rest) = url.split_at(authority_end);
    let mut out = match authority.rfind('@') {
        Some(at) => format!("{MASK}{}", &authority[at..]),
        None => authority.to_owned(),
    };
    let (before_fragment, fragment) = match rest.find('#') {
        Some(hash) => (&rest[..hash], Some(&rest[hash + 1..])),
        None => (rest, None),
    };
    match before_fragment.find('?') {
        Some(q) => {
            out.push_str(&before_fragment[..=q]);
            out.push_str(&redact_params(&before_fragment[q + 1..]));
        }
        None => out.push_str(before_fragment),
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&redact_params(fragment));
    }
    out
}

/// `a=1&key=2` -> `a=1&key=***`.
fn redact_params(params: &str) -> String {
    params
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(&percent_decoded(name)) => format!("{name}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `api%2Dkey` -> `api-key`, enough to see what a parameter is called.
fn percent_decoded(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A command line (as `sh -c` takes it) with its secrets masked; the rest
/// is kept as written.
pub fn command(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut mask_next = false;
    for word in words(line) {
        out.push_str(&line[copied..word.start]);
        copied = word.end;
        let raw = &line[word.start..word.end];
        let flag = word.text.starts_with('-');
        if mask_next && !flag {
            mask_next = false;
            out.push_str(MASK);
            continue;
        }
        mask_next = false;
        if let Some(masked) = masked_assignment(raw, &word.text) {
            out.push_str(&masked);
            continue;
        }
        if flag && !word.text.contains('=') {
            mask_next = word.text == "-p" || is_secret_name(&word.text);
            out.push_str(raw);
            continue;
        }
        if let Some(masked) = masked_header(&word.text) {
            out.push_str(&masked);
            continue;
        }
        out.push_str(&urls_in_text(raw));
    }
    out.push_str(&line[copied..]);
    out
}

/// `NAME=value` or `--name=value` with a secret name: the name kept, the
/// value masked (quotes and all). `None` for words that assign nothing.
fn masked_assignment(raw: &str, text: &str) -> Option<String> {
    let (name, _) = text.split_once('=')?;
    let bare = name.trim_start_matches('-');
    let is_name = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !is_name {
        return None;
    }
    if is_secret_name(name) {
        return Some(format!("{name}={MASK}"));
    }
    // A value that is a URL (`DATABASE_URL=postgres://u:p@db/x`).
    Some(urls_in_text(raw))
}

/// `Authorization: Bearer X` or `X-Api-Key: X` (a curl `-H` argument), as
/// one word once unquoted: the value masked, the word quoted again.
fn masked_header(text: &str) -> Option<String> {
    let (name, value) = text.split_once(':')?;
    let name_ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && value.starts_with(' ');
    if !name_ok || !is_secret_name(name) {
        return None;
    }
    let scheme = value
        .trim_start()
        .split_once(' ')
        .map(|(scheme, _)| format!("{scheme} "))
        .unwrap_or_default();
    Some(format!("'{name}: {scheme}{MASK}'"))
}

/// A word of a command line: where it is, and its text without quotes.
struct Word {
    start: usize,
    end: usize,
    text: String,
}

/// The words of `line` as `sh` splits them, simplified: blanks separate,
/// `'...'` is literal, `"..."` and `\` escape. (Expansions and operators
/// stay inside words; masking does not need them.)
fn words(line: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut text = String::new();
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            end = i + c.len_utf8();
            match c {
                '\'' => {
                    for (i, c) in chars.by_ref() {
                        end = i + c.len_utf8();
                        if c == '\'' {
                            break;
                        }
                        text.push(c);
                    }
                }
                '"' => {
                    while let Some((i, c)) = chars.next() {
                        end = i + c.len_utf8();
                        match c {
                            '"' => break,
                            '\\' => {
                                if let Some((i, c)) = chars.next() {
                                    end = i + c.len_utf8();
                                    text.push(c);
                                }
                            }
                            c => text.push(c),
                        }
                    }
                }
                '\\' => {
                    if let Some((i, c)) = chars.next() {
                        end = i + c.len_utf8();
                        text.push(c);
                    }
                }
                c => text.push(c),
            }
        }
        words.push(Word { start, end, text });
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "key",
            "api-key",
            "api_key",
            "apiKey",
            "OPENAI_API_KEY",
            "token",
            "access_token",
            "X-Amz-Signature",
            "X-Amz-Security-Token",
            "sig",
            "code",
            "--password",
            "client_secret",
            "DB_PASSWD",
            "Authorization",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "model",
            "--max-tokens",
            "api-version",
            "q",
            "port",
            "-v",
            "",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn urls_lose_userinfo_and_secret_parameters() {
        let cases = [
            (
                "https://user:pa55@llm.example.com/v1",
                "https://***@llm.example.com/v1",
            ),
            (
                "https://ghp_token@github.com/a/b.git",
                "https://***@github.com/a/b.git",
            ),
            (
                "http://127.0.0.1:8080/v1?api-key=sk-1&model=x&sig=abc&code=42",
                "http://127.0.0.1:8080/v1?api-key=***&model=x&sig=***&code=***",
            ),
            (
                "https://h/cb#access_token=abc&state=s",
                "https://h/cb#access_token=***&state=s",
            ),
            ("https://h/x?api%2Dkey=1", "https://h/x?api%2Dkey=***"),
            ("http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1"),
            ("not a url", "not a url"),
        ];
        for (url, want) in cases {
            assert_eq!(urls_in_text(url), want, "{url}");
        }
        assert_eq!(
            urls_in_text("cannot reach https://a:b@h/v1?token=t: refused (see http://x/?key=k)."),
            "cannot reach https://***@h/v1?token=***: refused (see http://x/?key=***)."
        );
        assert_eq!(urls_in_text("odd ://x@y"), "odd ://x@y");
    }

    #[test]
    fn commands_lose_secret_flags_assignments_and_urls() {
        let cases = [
            (
                "python3 agent.py --api-key sk-live-1 --model m",
                "python3 agent.py --api-key *** --model m",
            ),
            (
                "TOKEN=abc HF_TOKEN='x y' python3 agent.py",
                "TOKEN=*** HF_TOKEN=*** python3 agent.py",
            ),
            ("agent --token=s3cr3t -v", "agent --token=*** -v"),
            (
                "env \"API_KEY=a b\" agent --secret='x y'",
                "env API_KEY=*** agent --secret=***",
            ),
            ("mysql -u root -p hunter2 db", "mysql -u root -p *** db"),
            (
                "agent --password \"a b\" --max-tokens 100",
                "agent --password *** --max-tokens 100",
            ),
            (
                "agent --url https://u:p@h/v1?key=k --flag",
                "agent --url https://***@h/v1?key=*** --flag",
            ),
            (
                "DATABASE_URL=postgres://u:p@db/x agent",
                "DATABASE_URL=postgres://***@db/x agent",
            ),
            (
                "curl -H 'Authorization: Bearer abc' -H \"X-Api-Key: k\" http://h",
                "curl -H 'Authorization: Bearer ***' -H 'X-Api-Key: ***' http://h",
            ),
            ("python3 examples/agent.py", "python3 examples/agent.py"),
        ];
        for (line, want) in cases {
            assert_eq!(command(line), want, "{line}");
        }
        // Masking twice changes nothing: a resumed run compares the two.
        for (line, _) in cases {
            assert_eq!(command(&command(line)), command(line), "{line}");
        }
    }
}
