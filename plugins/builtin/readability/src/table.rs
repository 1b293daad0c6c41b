//! Tables of sorted lines, `key<TAB>value`, searched in place: a metric
//! runs in a fresh instance for every row, so a table is never loaded into
//! a map, only bisected where it lies in the component's data.

/// The value of `key` in `table` (lines sorted by key bytes), if present.
pub(crate) fn lookup<'t>(table: &'t str, key: &str) -> Option<&'t str> {
    let bytes = table.as_bytes();
    let (mut low, mut high) = (0, table.len());
    while low < high {
        let middle = low + (high - low) / 2;
        // The line holding `middle`.
        let start = bytes[low..middle]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(low, |i| low + i + 1);
        let end = bytes[middle..high]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(high, |i| middle + i);
        let line = &table[start..end];
        let (line_key, value) = line.split_once('\t').unwrap_or((line, ""));
        match key.as_bytes().cmp(line_key.as_bytes()) {
            std::cmp::Ordering::Less => high = start,
            std::cmp::Ordering::Greater => low = end + 1,
            std::cmp::Ordering::Equal => return Some(value),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_found_and_nothing_else() {
        let table = "a\t1\nab\t2\nb\t3\nzz\t4\n";
        for (key, value) in [("a", "1"), ("ab", "2"), ("b", "3"), ("zz", "4")] {
            assert_eq!(lookup(table, key), Some(value), "{key}");
        }
        for missing in ["", "aa", "c", "zzz", "\t"] {
            assert_eq!(lookup(table, missing), None, "{missing}");
        }
        assert_eq!(lookup("", "a"), None);
        assert_eq!(lookup("only\t9", "only"), Some("9"));
    }
}
