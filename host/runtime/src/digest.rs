//! SHA-256 digests as gavel writes them everywhere: lowercase hex.

use sha2::{Digest as _, Sha256};

/// Hex SHA-256 of `bytes`: a component's build, a cache key, a file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes` (a digest already computed).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
