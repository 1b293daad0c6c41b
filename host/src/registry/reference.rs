//! `oci://HOST[:PORT]/NAMESPACE/NAME:TAG` and `...@sha256:DIGEST`: where a
//! judge lives in a registry.

use std::fmt;
use std::str::FromStr;

/// The scheme that marks a plugin as living in a registry rather than in a
/// file.
pub const SCHEME: &str = "oci://";

/// A judge in an OCI registry: a tag, a digest, or both (a tag resolved to
/// the digest it named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeRef(oci_client::Reference);

/// A reference that cannot be used, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a judge reference: {reason} (expected oci://HOST[:PORT]/NAMESPACE/NAME:TAG or oci://HOST[:PORT]/NAMESPACE/NAME@sha256:DIGEST)"
)]
pub struct ReferenceError {
    text: String,
    reason: String,
}

impl JudgeRef {
    /// Whether `text` names a registry rather than a file.
    pub fn is_registry(text: &str) -> bool {
        text.starts_with(SCHEME)
    }

    /// The registry's host and port, as written (`127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        self.0.registry()
    }

    /// The repository within the registry (`team/tone`).
    pub fn repository(&self) -> &str {
        self.0.repository()
    }

    pub fn tag(&self) -> Option<&str> {
        self.0.tag()
    }

    /// The manifest digest (`sha256:...`), when the reference is pinned.
    pub fn digest(&self) -> Option<&str> {
        self.0.digest()
    }

    /// The same judge pinned to `digest`, keeping the tag for messages.
    pub fn with_digest(&self, digest: &str) -> JudgeRef {
        JudgeRef(match self.tag() {
            Some(tag) => oci_client::Reference::with_tag_and_digest(
                self.registry().to_owned(),
                self.repository().to_owned(),
                tag.to_owned(),
                digest.to_owned(),
            ),
            None => oci_client::Reference::with_digest(
                self.registry().to_owned(),
                self.repository().to_owned(),
                digest.to_owned(),
            ),
        })
    }

    /// The same judge by digest only: what a run loads, whatever the tag
    /// names today.
    pub fn pinned(&self, digest: &str) -> JudgeRef {
        JudgeRef(oci_client::Reference::with_digest(
            self.registry().to_owned(),
            self.repository().to_owned(),
            digest.to_owned(),
        ))
    }

    /// Whether the registry is on this machine, where gavel speaks plain
    /// HTTP as docker does (a registry elsewhere needs HTTPS).
    pub fn is_loopback(&self) -> bool {
        let host = self.registry();
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => host.rsplit_once(':').map_or(host, |(h, _)| h),
        };
        host == "localhost"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    pub(crate) fn oci(&self) -> &oci_client::Reference {
        &self.0
    }
}

impl FromStr for JudgeRef {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<JudgeRef, ReferenceError> {
        let fail = |reason: &str| ReferenceError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| fail("it does not start with oci://"))?;
        // Docker's parser would read `team/tone:1` as docker.io/team/tone:
        // a judge names its registry, so a team's judges never resolve
        // against Docker Hub by accident.
        let host = rest.split('/').next().unwrap_or_default();
        if !rest.contains('/') || !(host.contains(['.', ':']) || host == "localhost") {
            return Err(fail(
                "it must start with the registry's host (e.g. registry.example.com or 127.0.0.1:5000)",
            ));
        }
        let (host, path) = rest.split_once('/').expect("checked above");
        let (path, digest) = match path.split_once('@') {
            Some((path, digest)) => (path, Some(digest)),
            None => (path, None),
        };
        // A tag is after the last `:` of the last path component.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
            _ => (path, None),
        };
        if tag.is_none() && digest.is_none() {
            return Err(fail(
                "name a tag (…:1.0) or a digest (…@sha256:…), so what is loaded is never a guess",
            ));
        }
        if let Some(digest) = digest
            && !is_sha256_digest(digest)
        {
            return Err(fail(
                "the digest must be sha256: and 64 lowercase hex digits",
            ));
        }
        if let Some(tag) = tag
            && !is_tag(tag)
        {
            return Err(fail(
                "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            ));
        }
        if !repository.split('/').all(is_path_component) {
            return Err(fail(
                "the repository is lowercase letters and digits, separated by `.`, `_`, `__`, `-` or `/`",
            ));
        }
        // The OCI grammar, checked by hand: oci-client's parser compiles a
        // large regex on first use, tens of milliseconds of every run.
        let (registry, repository) = (host.to_owned(), repository.to_owned());
        let reference = match (tag, digest) {
            (Some(tag), Some(digest)) => oci_client::Reference::with_tag_and_digest(
                registry,
                repository,
                tag.to_owned(),
                digest.to_owned(),
            ),
            (Some(tag), None) => {
                oci_client::Reference::with_tag(registry, repository, tag.to_owned())
            }
            (None, Some(digest)) => {
                oci_client::Reference::with_digest(registry, repository, digest.to_owned())
            }
            (None, None) => unreachable!("refused above"),
        };
        Ok(JudgeRef(reference))
    }
}

impl fmt::Display for JudgeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry(), self.repository())?;
        if let Some(tag) = self.tag() {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest() {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, the OCI distribution tag grammar.
fn is_tag(tag: &str) -> bool {
    tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, one component of a repository name.
fn is_path_component(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes: Vec<char> = part.chars().collect();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator: String = bytes[start..i].iter().collect();
        let valid = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.chars().all(|c| c == '-');
        if !valid {
            return false;
        }
    }
    true
}

/// `sha256:` and 64 lowercase hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn tags_and_digests_parse_and_print_back() {
        let tagged: JudgeRef = "oci://127.0.0.1:5000/team/tone:1.2".parse().unwrap();
        assert_eq!(tagged.registry(), "127.0.0.1:5000");
        assert_eq!(tagged.repository(), "team/tone");
        assert_eq!(tagged.tag(), Some("1.2"));
        assert_eq!(tagged.digest(), None);
        assert!(tagged.is_loopback());
        assert_eq!(tagged.to_string(), "oci://127.0.0.1:5000/team/tone:1.2");
        let pinned = tagged.with_digest(DIGEST);
        assert_eq!(
            pinned.to_string(),
            format!("oci://127.0.0.1:5000/team/tone:1.2@{DIGEST}")
        );
        assert_eq!(
            tagged.pinned(DIGEST).to_string(),
            format!("oci://127.0.0.1:5000/team/tone@{DIGEST}")
        );
        let by_digest: JudgeRef = format!("oci://registry.example.com/judges/tone@{DIGEST}")
            .parse()
            .unwrap();
        assert_eq!(by_digest.digest(), Some(DIGEST));
        assert!(!by_digest.is_loopback());
        assert!(
            "oci://localhost/a/b:1"
                .parse::<JudgeRef>()
                .unwrap()
                .is_loopback()
        );
    }

    #[test]
    fn ambiguous_or_malformed_references_are_refused_with_why() {
        for (text, why) in [
            ("judges/tone.wasm", "oci://"),
            ("oci://team/tone:1", "registry's host"),
            ("oci://tone:1", "registry's host"),
            ("oci://127.0.0.1:5000/team/tone", "name a tag"),
            (
                "oci://127.0.0.1:5000/team/tone@sha256:abc",
                "64 lowercase hex",
            ),
            (
                "oci://127.0.0.1:5000/Team/tone:1",
                "lowercase letters and digits",
            ),
            (
                "oci://127.0.0.1:5000/team//tone:1",
                "lowercase letters and digits",
            ),
            (
                "oci://127.0.0.1:5000/team/to..ne:1",
                "lowercase letters and digits",
            ),
            ("oci://127.0.0.1:5000/team/tone:-1", "a tag is up to 128"),
            ("oci://127.0.0.1:5000/team/tone:", "a tag is up to 128"),
        ] {
            let error = text.parse::<JudgeRef>().unwrap_err().to_string();
            assert!(error.contains(why), "{text}: {error}");
            assert!(error.contains(text), "{error}");
        }
    }
}
