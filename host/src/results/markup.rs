//! Text inside HTML and XML documents gavel writes.

/// Markup characters escaped, and characters XML 1.0 forbids (control
/// characters other than tab and newlines) dropped: valid in both.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped_and_control_characters_dropped() {
        assert_eq!(
            super::escape("<a href='x'>\"&\u{1}\n</a>"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;\n&lt;/a&gt;"
        );
    }
}
