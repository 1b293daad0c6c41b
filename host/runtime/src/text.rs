//! Text that gavel did not write itself (a plugin's rationales and errors,
//! an agent's stderr, names from data) on its way to results files and
//! terminals: bounded, and without control characters.
//!
//! One policy for all of it: every control character except newline and tab
//! becomes U+FFFD (so no ESC sequence reaches a terminal and no NUL or form
//! feed reaches XML), as do the bidirectional overrides that make text read
//! differently from what it is; text over its cap is cut on a character
//! boundary, and the cut says how much went.
//!
//! The caps:
//! - [`MAX_MESSAGE_BYTES`] (16 KiB): a rationale, a chunk's rationale or
//!   error, each text inside a judge's failure, an agent's error;
//! - [`MAX_LINE_BYTES`] (1 KiB): a line an agent process logs on stderr, a
//!   name from the data printed on the terminal.
//!
//! A plugin's name and version are not cut but checked when it loads
//! (`plugin::validate`: at most 64 bytes, one clean line): they are part of
//! output keys and cache keys, where a cut would make two plugins one.

/// Longest rationale or error text kept from a plugin or an agent.
pub const MAX_MESSAGE_BYTES: usize = 16 << 10;
/// Longest line kept from an agent's log or printed from the data.
pub const MAX_LINE_BYTES: usize = 1 << 10;

const REPLACEMENT: char = '\u{FFFD}';

/// `text` with control characters (other than `\n` and `\t`) and
/// bidirectional overrides replaced by U+FFFD, and cut to at most
/// `max_bytes` bytes (plus the note saying how many bytes were cut).
/// Reads no more of `text` than it keeps, so a 20 MB text costs what 16 KiB
/// does.
pub fn clean_plugin_text(text: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_bytes));
    for (at, c) in text.char_indices() {
        let c = if is_unsafe(c) { REPLACEMENT } else { c };
        if out.len() + c.len_utf8() > max_bytes {
            out.push_str(&format!("... ({} bytes cut)", text.len() - at));
            return out;
        }
        out.push(c);
    }
    out
}

/// [`clean_plugin_text`] for an owned string, which comes back as it is
/// (no copy) when there is nothing to clean or cut: the common case.
pub fn clean_owned(text: String, max_bytes: usize) -> String {
    if text.len() <= max_bytes && is_clean(&text) {
        text
    } else {
        clean_plugin_text(&text, max_bytes)
    }
}

/// As [`clean_plugin_text`], on one line: newlines and tabs become spaces too
/// (log lines, names quoted in messages).
pub fn clean_line(text: &str, max_bytes: usize) -> String {
    clean_plugin_text(text, max_bytes).replace(['\n', '\t'], " ")
}

/// Whether `text` has nothing [`clean_plugin_text`] would replace.
pub fn is_clean(text: &str) -> bool {
    !text.chars().any(is_unsafe)
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        // Bidirectional embeddings, overrides and isolates ("Trojan Source").
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced_but_newlines_and_tabs_kept() {
        assert_eq!(
            clean_plugin_text("a\u{1b}[31mred\u{7}\r\n\tb\u{9b}c\u{202e}d", 100),
            "a\u{fffd}[31mred\u{fffd}\u{fffd}\n\tb\u{fffd}c\u{fffd}d"
        );
        assert_eq!(clean_line("a\nb\tc\u{1b}", 100), "a b c\u{fffd}");
        assert!(is_clean("plain text\nwith a tab\t and é"));
        assert!(!is_clean("esc \u{1b}[2J"));
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_saying_how_much_went() {
        let text = "é".repeat(10);
        let cut = clean_plugin_text(&text, 5);
        assert_eq!(cut, "éé... (16 bytes cut)");
        assert_eq!(clean_plugin_text("short", 5), "short");
        // Replacements count at their replaced size: the cap holds.
        let escapes = "\u{1b}".repeat(20 << 20);
        let cut = clean_plugin_text(&escapes, MAX_MESSAGE_BYTES);
        assert!(cut.len() < MAX_MESSAGE_BYTES + 40, "{}", cut.len());
        assert!(is_clean(&cut));
        assert!(cut.ends_with(&format!(
            "... ({} bytes cut)",
            (20 << 20) - MAX_MESSAGE_BYTES / 3
        )));
    }
}
