//! Syllables, counted as textstat 0.7.11 counts them for English: the
//! vowels (phones with a stress digit) of a word's first pronunciation in
//! the CMU Pronouncing Dictionary as NLTK ships it, and for a word not in
//! it, pyphen's hyphenation points plus one.
//!
//! Only the dictionary words whose count differs from their hyphenation's
//! are stored (data/cmudict_syllables.txt, 47,795 of NLTK's 123,455 words,
//! written by tools/syllable_exceptions.py from the dictionary and pyphen
//! itself); every other word is hyphenated here exactly as pyphen 0.18.1
//! hyphenates (Liang's algorithm on LibreOffice's en_US patterns, at most
//! one syllable boundary within two letters of either end), so the count
//! is textstat's either way.

use crate::table;

/// Words whose dictionary count differs from their hyphenation's:
/// `word<TAB>count`, sorted.
const EXCEPTIONS: &str = include_str!("../data/cmudict_syllables.txt");
/// The hyphenation patterns (see build.rs): `letters<TAB>offset<TAB>values`.
const PATTERNS: &str = include_str!(concat!(env!("OUT_DIR"), "/hyphenation.tsv"));
include!(concat!(env!("OUT_DIR"), "/hyphenation.rs"));

/// pyphen's `left` and `right`: no hyphen within two letters of an end.
const MIN_EDGE: usize = 2;

/// The syllables of a word as textstat's `count_syllables` lowercases and
/// looks it up.
pub fn syllables(word: &str) -> usize {
    let word = word.to_lowercase();
    if let Some(count) = table::lookup(EXCEPTIONS, &word) {
        return count.parse().unwrap_or_default();
    }
    hyphenation_points(&word) + 1
}

/// pyphen's `Pyphen(lang="en_US").positions(word)`, counted: Liang's
/// algorithm over `.word.`, keeping the odd values at least two letters
/// from either end.
pub(crate) fn hyphenation_points(word: &str) -> usize {
    let pointed: Vec<char> = format!(".{word}.").chars().collect();
    let mut values = vec![0u8; pointed.len() + 1];
    let mut key = String::new();
    for i in 0..pointed.len().saturating_sub(1) {
        let stop = (i + LONGEST_PATTERN).min(pointed.len());
        key.clear();
        for &c in &pointed[i..stop] {
            key.push(c);
            let Some(pattern) = table::lookup(PATTERNS, &key) else {
                continue;
            };
            let (offset, digits) = pattern.split_once('\t').unwrap_or(("0", ""));
            let offset: usize = offset.parse().unwrap_or_default();
            for (k, digit) in digits.bytes().enumerate() {
                if let Some(value) = values.get_mut(i + offset + k) {
                    *value = (*value).max(digit - b'0');
                }
            }
        }
    }
    let letters = word.chars().count();
    values
        .iter()
        .enumerate()
        .filter(|&(i, value)| {
            // values[i] is the break before pointed[i], word position i - 1.
            value % 2 == 1
                && i >= 1
                && (MIN_EDGE..=letters.saturating_sub(MIN_EDGE)).contains(&(i - 1))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures from pyphen 0.18.1 (`len(Pyphen(lang="en_US").positions(w))`).
    #[test]
    fn hyphenation_equals_pyphens() {
        for (word, points) in [
            ("hyphenation", 2),
            ("readability", 3),
            ("a", 0),
            ("ab", 0),
            ("", 0),
            ("supercalifragilisticexpialidocious", 10),
            ("gavel", 1),
            ("don't", 0),
        ] {
            assert_eq!(hyphenation_points(word), points, "{word}");
        }
    }

    /// Figures from textstat 0.7.11 (`textstat.syllable_count(w)`): words
    /// from the dictionary, the first counted differently by pyphen, and
    /// words it does not have.
    #[test]
    fn syllables_equal_textstats() {
        for (word, count) in [
            ("every", 3),
            ("fire", 2),
            ("the", 1),
            ("Readability", 5),
            ("textstat", 2),
            ("mlflow", 1),
        ] {
            assert_eq!(syllables(word), count, "{word}");
        }
    }
}
