//! Pulled judges on disk, under gavel's cache directory, by content: a run
//! whose judges were all pulled before needs no registry.
//!
//! ```text
//! judges/blobs/sha256/<hex>          a component, named by its SHA-256
//! judges/manifests/sha256/<hex>      a manifest digest -> its component's SHA-256
//! judges/tags/<registry>/<repo>/<tag>  the manifest digest a tag last named
//! ```

use std::path::{Path, PathBuf};

use super::reference::JudgeRef;
use super::sha256_hex;

/// The content-addressed store of pulled judges.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A component found in the store.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Hex SHA-256 of the component, checked when read.
    pub sha256: String,
    pub wasm: Vec<u8>,
    pub path: PathBuf,
}

impl Store {
    /// The store under `cache_dir` (gavel's cache directory).
    pub fn new(cache_dir: &Path) -> Store {
        Store {
            root: cache_dir.join("judges"),
        }
    }

    /// The component the manifest `digest` (`sha256:...`) names, if it was
    /// pulled before and is intact. A file whose bytes no longer match
    /// its name is removed and not returned: it will be pulled again.
    pub fn get(&self, digest: &str) -> Option<Stored> {
        let sha256 = std::fs::read_to_string(self.manifest_path(digest)?).ok()?;
        let sha256 = sha256.trim();
        if !is_hex64(sha256) {
            return None;
        }
        let path = self.blob_path(sha256);
        let wasm = std::fs::read(&path).ok()?;
        if sha256_hex(&wasm) != sha256 {
            tracing::warn!(path = %path.display(), "a stored judge no longer matches its digest; removing it");
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(Stored {
            sha256: sha256.to_owned(),
            wasm,
            path,
        })
    }

    /// Keeps a pulled component under its manifest `digest`; `sha256` is
    /// its own digest, already checked by the caller.
    pub fn put(&self, digest: &str, sha256: &str, wasm: &[u8]) -> std::io::Result<PathBuf> {
        let blob = self.blob_path(sha256);
        if !blob.exists() {
            write_atomically(&blob, wasm)?;
        }
        let manifest = self
            .manifest_path(digest)
            .ok_or_else(|| std::io::Error::other(format!("not a sha256 digest: {digest}")))?;
        write_atomically(&manifest, sha256.as_bytes())?;
        Ok(blob)
    }

    /// The manifest digest `reference`'s tag named when last resolved.
    pub fn tag(&self, reference: &JudgeRef) -> Option<String> {
        let digest = std::fs::read_to_string(self.tag_path(reference)?).ok()?;
        let digest = digest.trim();
        super::reference::is_sha256_digest(digest).then(|| digest.to_owned())
    }

    /// Remembers what `reference`'s tag names now, for when the registry
    /// cannot be reached.
    pub fn set_tag(&self, reference: &JudgeRef, digest: &str) -> std::io::Result<()> {
        match self.tag_path(reference) {
            Some(path) => write_atomically(&path, digest.as_bytes()),
            None => Ok(()),
        }
    }

    fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join("blobs").join("sha256").join(sha256)
    }

    fn manifest_path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:").filter(|hex| is_hex64(hex))?;
        Some(self.root.join("manifests").join("sha256").join(hex))
    }

    fn tag_path(&self, reference: &JudgeRef) -> Option<PathBuf> {
        let tag = reference.tag()?;
        // The reference grammar keeps these to [A-Za-z0-9._:-] and `/`
        // between components, so no part can be `..` or absolute.
        let mut path = self.root.join("tags").join(reference.registry());
        for part in reference.repository().split('/') {
            path.push(part);
        }
        path.push(tag);
        Some(path)
    }
}

fn is_hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Writes through a temporary file and a rename, so that a reader (another
/// gavel) never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("store paths have a parent");
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_content_and_drops_what_was_changed_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let wasm = b"\0asm component bytes".to_vec();
        let sha256 = sha256_hex(&wasm);
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert!(store.get(&digest).is_none());
        let path = store.put(&digest, &sha256, &wasm).unwrap();
        let stored = store.get(&digest).unwrap();
        assert_eq!(
            (stored.sha256.as_str(), stored.wasm.as_slice()),
            (sha256.as_str(), &wasm[..])
        );
        assert_eq!(stored.path, path);

        std::fs::write(&path, b"\0asm something else").unwrap();
        assert!(store.get(&digest).is_none(), "a changed blob is not served");
        assert!(!path.exists(), "and it is removed, to be pulled again");
    }

    #[test]
    fn remembers_what_a_tag_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let tagged: JudgeRef = "oci://127.0.0.1:5000/team/tone:1.2".parse().unwrap();
        let digest = format!("sha256:{}", "cd".repeat(32));
        assert_eq!(store.tag(&tagged), None);
        store.set_tag(&tagged, &digest).unwrap();
        assert_eq!(store.tag(&tagged), Some(digest.clone()));
        let other: JudgeRef = "oci://127.0.0.1:5000/team/tone:1.3".parse().unwrap();
        assert_eq!(store.tag(&other), None);
    }
}
