//! Turns the hyphenation patterns (data/hyph_en_US.dic, pyphen's copy of
//! LibreOffice's en_US patterns) into a sorted table the syllable counter
//! searches in place: a metric runs in a fresh instance for every row, so
//! nothing may be parsed at run time.
//!
//! The patterns are read as pyphen reads them (`HyphDict.__init__`): the
//! first line is the encoding; blank lines, comments and the *HYPHENMIN
//! settings are skipped; a pattern's letters are its key and its digits the
//! values between them, zeros trimmed from both ends with the offset of the
//! first kept; a later pattern with the same letters replaces an earlier
//! one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const IGNORED: [&str; 6] = [
    "%",
    "#",
    "LEFTHYPHENMIN",
    "RIGHTHYPHENMIN",
    "COMPOUNDLEFTHYPHENMIN",
    "COMPOUNDRIGHTHYPHENMIN",
];

fn main() {
    let source = Path::new("data/hyph_en_US.dic");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(source).expect("cannot read data/hyph_en_US.dic");
    let mut patterns: BTreeMap<String, (usize, Vec<u8>)> = BTreeMap::new();
    for line in text.split('\n').skip(1) {
        let pattern = line.trim();
        if pattern.is_empty() || IGNORED.iter().any(|p| pattern.starts_with(p)) {
            continue;
        }
        assert!(
            !pattern.contains("^^") && !pattern.contains('/'),
            "hyph_en_US.dic: escapes and nonstandard hyphenation are not supported: {pattern}"
        );
        let (key, values) = parse(pattern);
        let Some(start) = values.iter().position(|&v| v != 0) else {
            continue;
        };
        let end = values
            .iter()
            .rposition(|&v| v != 0)
            .expect("a value is not zero")
            + 1;
        patterns.insert(key, (start, values[start..end].to_vec()));
    }
    // One line per pattern, `key<TAB>offset<TAB>values`, sorted by key
    // bytes; and the longest key, which bounds the substrings looked up.
    let mut table = String::new();
    let mut longest = 0;
    for (key, (start, values)) in &patterns {
        longest = longest.max(key.chars().count());
        let values: String = values.iter().map(|v| char::from(b'0' + v)).collect();
        writeln!(table, "{key}\t{start}\t{values}").expect("writing to a String cannot fail");
    }
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set"));
    std::fs::write(out.join("hyphenation.tsv"), table).expect("cannot write the pattern table");
    std::fs::write(
        out.join("hyphenation.rs"),
        format!("/// The longest pattern, in characters.\npub(crate) const LONGEST_PATTERN: usize = {longest};\n"),
    )
    .expect("cannot write the pattern table");
}

/// `.a2ch4` -> (`.ach`, [0, 0, 2, 0, 4]): the letters, and the value before
/// each letter and after the last (pyphen's `(\d?)(\D?)` reading).
fn parse(pattern: &str) -> (String, Vec<u8>) {
    let mut key = String::new();
    let mut values = vec![0u8];
    for c in pattern.chars() {
        match c.to_digit(10) {
            Some(digit) => *values.last_mut().expect("never empty") = digit as u8,
            None => {
                key.push(c);
                values.push(0);
            }
        }
    }
    (key, values)
}
