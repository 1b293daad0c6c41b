//! Words, sentences and characters, counted as textstat 0.7.11 counts them
//! (its `backend` package), so that grades equal the ones MLflow reports.
//!
//! textstat works with Python's regular expressions on `str`; these are
//! their definitions, character by character:
//! - whitespace (`\s`, `str.split()`): `str.isspace()`, which is Rust's
//!   `char::is_whitespace` plus the separators U+001C-U+001F;
//! - a word character (`\w`): `str.isalnum()` or `_`. Rust's
//!   `char::is_alphanumeric` agrees on letters and digits, but also takes
//!   the few marks and symbols Unicode calls alphabetic (Indic vowel signs,
//!   circled letters), which Python does not: in such text the counts may
//!   differ. English text is unaffected.

/// Python's `str.isspace()`.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `\w` (see the module's note on the few differences).
pub(crate) fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?')
}

/// textstat's `remove_punctuation(text, rm_apostrophe=False)`: apostrophes
/// are dropped unless a contraction's ending follows (`'t`, `'s`, `'d`,
/// `'ve`, `'ll`, `'re`, lowercase), then everything that is neither a word
/// character, whitespace nor an apostrophe.
pub(crate) fn remove_punctuation(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let keep = if c == '\'' {
            let next = |k: usize| chars.get(i + k).copied();
            matches!(next(1), Some('t' | 's' | 'd'))
                || matches!((next(1), next(2)), (Some('v'), Some('e')))
                || matches!((next(1), next(2)), (Some('l'), Some('l')))
                || matches!((next(1), next(2)), (Some('r'), Some('e')))
        } else {
            is_word(c) || is_space(c)
        };
        if keep {
            out.push(c);
        }
    }
    out
}

/// textstat's `list_words(text)`: the text without punctuation, split on
/// whitespace.
pub(crate) fn words(text: &str) -> Vec<String> {
    remove_punctuation(text)
        .split(is_space)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// textstat's `count_words(text)`.
pub fn count_words(text: &str) -> usize {
    words(text).len()
}

/// textstat's `count_words(text, rm_punctuation=False)`: whitespace-separated
/// tokens, punctuation-only ones included.
pub fn count_tokens(text: &str) -> usize {
    text.split(is_space).filter(|w| !w.is_empty()).count()
}

/// textstat's `count_chars(text, ignore_spaces=True)`: characters (code
/// points) other than whitespace.
pub fn count_chars(text: &str) -> usize {
    text.chars().filter(|&c| !is_space(c)).count()
}

/// textstat's `count_sentences`: the matches of `\b[^.!?]+[.!?]*`, less
/// those of two words or fewer, and at least one for a text that is not
/// empty.
pub fn count_sentences(text: &str) -> usize {
    if text.is_empty() {
        return 0;
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut found, mut ignored) = (0usize, 0usize);
    let mut p = 0;
    while p < chars.len() {
        let before = p.checked_sub(1).map(|i| chars[i]);
        let boundary = before.is_some_and(is_word) != is_word(chars[p]);
        if !boundary || is_terminator(chars[p]) {
            p += 1;
            continue;
        }
        let mut end = p;
        while end < chars.len() && !is_terminator(chars[end]) {
            end += 1;
        }
        while end < chars.len() && is_terminator(chars[end]) {
            end += 1;
        }
        let sentence: String = chars[p..end].iter().collect();
        found += 1;
        if count_words(&sentence) <= 2 {
            ignored += 1;
        }
        p = end;
    }
    (found - ignored).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures from textstat 0.7.11 (`textstat.lexicon_count`,
    /// `sentence_count`, `char_count`).
    #[test]
    fn counts_equal_textstats() {
        let text = "Hello, world! It's a fine day, isn't it? Yes.";
        assert_eq!(count_words(text), 9);
        assert_eq!(count_tokens(text), 9);
        assert_eq!(count_chars(text), 37);
        // "Hello, world!" and "Yes." have two words or fewer: they are not
        // counted as sentences.
        assert_eq!(count_sentences(text), 1);
    }

    #[test]
    fn apostrophes_stay_only_in_contractions() {
        assert_eq!(
            remove_punctuation("don't 'quote' we've o'clock"),
            "don't quote we've oclock"
        );
        assert_eq!(remove_punctuation("DON'T"), "DONT");
        assert_eq!(
            remove_punctuation("rock-n-roll, e.g. \u{2019}s"),
            "rocknroll eg s"
        );
    }

    #[test]
    fn sentences_start_at_a_word_boundary() {
        assert_eq!(count_sentences(""), 0);
        assert_eq!(count_sentences("..."), 1);
        assert_eq!(count_sentences("One two three.Four five six!"), 2);
        assert_eq!(count_sentences("  (one two three) four five six"), 1);
    }

    #[test]
    fn python_whitespace_includes_the_information_separators() {
        assert_eq!(count_tokens("a\u{1f}b\u{a0}c"), 3);
        assert_eq!(count_chars("a\u{1f}b"), 2);
    }
}
