//! The built-in judges, compiled from plugins/builtin/* by the build script
//! and embedded in the binary.

pub(crate) struct Embedded {
    pub(crate) bytes: &'static [u8],
    /// Computed at build time: the compiled-code cache key, without hashing
    /// at start-up.
    pub(crate) sha256: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
