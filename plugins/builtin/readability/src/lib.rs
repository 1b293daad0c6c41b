//! Readability grades of a text, as MLflow's `flesch_kincaid_grade_level`
//! and `ari_grade_level` metrics compute them: with textstat 0.7.11
//! (`textstat.flesch_kincaid_grade(text)`,
//! `textstat.automated_readability_index(text)`), whose counting of words,
//! sentences, characters and syllables this crate follows step by step
//! ([`text`], [`syllables`]). For English text the grades are textstat's to
//! the last bit: the same counts go into the same floating-point formulas.
//!
//! Shared by the built-in metric components `flesch_kincaid_grade_level`
//! and `ari_grade_level`; a plain library, tested on the host.

mod syllables;
mod table;
pub mod text;

pub use syllables::syllables;

/// The Flesch-Kincaid grade level: 0.39 × words per sentence + 11.8 ×
/// syllables per word − 15.59; 0 for a text without words (textstat's
/// `flesch_kincaid_grade`, which MLflow reports per row).
pub fn flesch_kincaid_grade(text: &str) -> f64 {
    let words = text::words(text);
    let sentence_length = ratio(words.len(), text::count_sentences(text));
    let syllables: usize = words.iter().map(|word| syllables::syllables(word)).sum();
    let syllables_per_word = ratio(syllables, words.len());
    if sentence_length == 0.0 || syllables_per_word == 0.0 {
        return 0.0;
    }
    (0.39 * sentence_length) + (11.8 * syllables_per_word) - 15.59
}

/// The automated readability index: 4.71 × characters per word + 0.5 ×
/// words per sentence − 21.43, where characters per word counts every
/// non-space character over every whitespace-separated token, punctuation
/// included; 0 for a text without words (textstat's
/// `automated_readability_index`).
pub fn automated_readability_index(text: &str) -> f64 {
    let chars_per_word = ratio(text::count_chars(text), text::count_tokens(text));
    let words_per_sentence = ratio(text::count_words(text), text::count_sentences(text));
    if chars_per_word == 0.0 || words_per_sentence == 0.0 {
        return 0.0;
    }
    (4.71 * chars_per_word) + (0.5 * words_per_sentence) - 21.43
}

/// `a / b`, and 0 where textstat catches the division by zero.
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MLflow's documentation examples (the `ground_truth` answers of its
    /// `mlflow.evaluate` question-answering example), textstat's own short
    /// test text, and edge cases, with the grades textstat 0.7.11 gives
    /// (`repr` of `textstat.flesch_kincaid_grade(text)` and
    /// `textstat.automated_readability_index(text)`): equal to the bit.
    #[test]
    fn grades_equal_textstats() {
        let cases = [
            (
                "Cool dogs wear da sunglasses.",
                2.879999999999999,
                4.620000000000001,
            ),
            (
                "MLflow is an open-source platform for managing the end-to-end machine learning (ML) lifecycle. It was developed by Databricks, a company that specializes in big data and machine learning solutions. MLflow is designed to address the challenges that data scientists and machine learning engineers face when developing, training, and deploying machine learning models.",
                12.273846153846154,
                15.67782051282051,
            ),
            (
                "Apache Spark is an open-source, distributed computing system designed for big data processing and analytics. It was developed in response to limitations of the Hadoop MapReduce computing model, offering improvements in speed and ease of use.",
                13.063333333333333,
                14.521666666666668,
            ),
            (
                "Don't panic! It's only a test, isn't it? Yes.",
                3.653333333333336,
                2.43333333333333,
            ),
            ("Hi.", -3.3999999999999986, -6.800000000000001),
            ("", 0.0, 0.0),
        ];
        for (text, fk, ari) in cases {
            assert_eq!(flesch_kincaid_grade(text), fk, "{text}");
            assert_eq!(automated_readability_index(text), ari, "{text}");
        }
    }
}
