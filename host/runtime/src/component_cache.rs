//! Compiled components on disk, so start-up does not recompile judges.
//!
//! Compiling takes from a tenth of a second (a Rust judge) to over ten
//! seconds (a componentize-py judge); loading a compiled file is a read and a
//! copy. A file is keyed by the component's SHA-256, the wasmtime version and
//! the engine's compatibility hash: code compiled under another engine
//! configuration is rejected by wasmtime, so it must never be looked up.
//!
//! A compiled file is native code, run inside the process that holds the API
//! keys, so it is used only when verified. Each entry ends with an
//! HMAC-SHA256 tag over its name and bytes, keyed by a per-user secret
//! (`components/.key`: 32 random bytes, mode 0600). A load reads the file,
//! checks the tag in constant time and deserializes the very bytes it
//! checked, so nothing can change between the check and the mapping. An entry
//! without a valid tag, or owned by another user, is compiled again and
//! overwritten. A key readable by others is replaced (every entry is then
//! compiled again). A components directory or key that belongs to another
//! user, or a directory others can write to, is not used at all (every plugin
//! is compiled) rather than repaired: it is not ours to fix.
//!
//! The tag is a trailer, not a file beside the entry: one rename replaces an
//! entry and its tag together, so a reader never pairs a new entry with an
//! old tag (two processes compiling one judge at once), and there is one file
//! to open, read and clean up. The tag covers the entry's name, so an entry
//! cannot be passed off as another component's or another engine's.

use std::fmt;
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The per-user secret, in the components directory.
const KEY_FILE: &str = ".key";
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 32;
/// Ends every entry, after its tag: tells an untagged file (one written by
/// an older gavel, or by anything else) from a tampered one in the logs.
const MAGIC: &[u8; 8] = b"gavelmac";
const TRAILER_LEN: usize = TAG_LEN + MAGIC.len();
/// Tags of other uses of the key can never pass for an entry's.
const DOMAIN: &[u8] = b"gavel compiled component v1\0";

/// Where compiled components live, for one engine configuration.
#[derive(Debug, Clone)]
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: String,
    /// Opened (directory checked, key read or made) at the first load, once
    /// per host; `None` inside: the cache is not trusted, compile everything.
    key: Arc<OnceLock<Option<Key>>>,
}

impl ComponentCache {
    /// `dir: None` disables the cache (every load compiles).
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = StableHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex(&hasher.0.finalize()[..12]);
        ComponentCache {
            dir: dir.map(|d| d.join("components")),
            engine_key,
            key: Arc::default(),
        }
    }

    /// The compiled component whose SHA-256 is `sha256`, if the cache holds
    /// a verified entry for it. An entry that cannot be read, verified or
    /// deserialized is skipped with a warning (and overwritten by
    /// [`compile`](Self::compile)).
    pub(crate) fn lookup(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let (path, key) = (self.path_for(sha256)?, self.key()?);
        match read_verified(&path, key) {
            Ok(None) => None,
            Ok(Some(verified)) => {
                // SAFETY: `verified` carries a valid tag under this user's
                // secret key for this entry's name, which names the engine
                // configuration: only `store` below makes such tags, from
                // `Component::serialize` under this configuration. These are
                // the bytes that were checked, not the file read again.
                match unsafe { Component::deserialize(engine, &verified) } {
                    Ok(component) => Some(component),
                    Err(error) => {
                        tracing::warn!(
                            path = %path.display(),
                            "cannot use a compiled component, compiling it again: {error:#}"
                        );
                        None
                    }
                }
            }
            Err(reason) => {
                tracing::warn!(
                    path = %path.display(),
                    "not using a compiled component ({reason}); compiling it again"
                );
                None
            }
        }
    }

    /// Compiles `bytes` (whose SHA-256 is `sha256`) and caches the result,
    /// replacing any entry. A cache that cannot be written only costs the
    /// next load a compile.
    pub(crate) fn compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<Component> {
        let component = Component::new(engine, bytes)?;
        if let (Some(path), Some(key)) = (self.path_for(sha256), self.key())
            && let Err(error) = store(&path, key, &component)
        {
            tracing::warn!(path = %path.display(), "cannot cache compiled component: {error:#}");
        }
        Ok(component)
    }

    fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        // The compatibility hash covers wasmtime's version too; naming it
        // keeps the directory readable.
        let version = env!("GAVEL_WASMTIME_VERSION");
        Some(dir.join(format!(
            "{sha256}-wasmtime{version}-{}.cwasm",
            self.engine_key
        )))
    }

    fn key(&self) -> Option<&Key> {
        let dir = self.dir.as_deref()?;
        self.key.get_or_init(|| open(dir)).as_ref()
    }
}

/// The per-user secret that tags entries. Never printed.
#[derive(Clone)]
struct Key([u8; KEY_LEN]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    fn mac(&self, name: &[u8], body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key size");
        mac.update(DOMAIN);
        mac.update(&(name.len() as u64).to_le_bytes());
        mac.update(name);
        mac.update(body);
        mac
    }
}

fn entry_name(path: &Path) -> &[u8] {
    path.file_name()
        .expect("cache entries have a name")
        .as_encoded_bytes()
}

/// Checks the directory and reads (or makes) the key: `None`, with a
/// warning, when the cache cannot be trusted.
fn open(dir: &Path) -> Option<Key> {
    let untrusted = |reason: String| {
        tracing::warn!(
            path = %dir.display(),
            "not using the compiled-component cache ({reason}); compiling every plugin"
        );
        None
    };
    if let Err(error) = create_private_dir(dir) {
        return untrusted(format!("cannot create it: {error}"));
    }
    if let Err(reason) = check_dir(dir) {
        return untrusted(reason);
    }
    match open_key(&dir.join(KEY_FILE)) {
        Ok(key) => Some(key),
        Err(reason) => untrusted(reason),
    }
}

/// Creates `dir` and any missing parents, readable by this user only.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A directory someone else owns or can write to could hold anything.
fn check_dir(dir: &Path) -> Result<(), String> {
    let meta = fs::metadata(dir).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_dir() {
        return Err("it is not a directory".into());
    }
    owner::check_mine(&meta)?;
    if owner::mode(&meta) & 0o022 != 0 {
        return Err(format!(
            "other users can write to it (mode {:o})",
            owner::mode(&meta) & 0o7777
        ));
    }
    Ok(())
}

/// What is at the key's path.
enum KeyFile {
    Good(Key),
    Missing,
    /// Ours, but others may know it (or it is damaged): make a new one.
    Replace(String),
}

fn open_key(path: &Path) -> Result<Key, String> {
    // Three rounds cover another process creating or replacing the key at
    // the same moment.
    for _ in 0..3 {
        match read_key(path)? {
            KeyFile::Good(key) => return Ok(key),
            KeyFile::Missing => match create_key(path, false) {
                Ok(()) => {}
                // Another process made it first: read theirs.
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(format!("cannot create {}: {error}", path.display())),
            },
            KeyFile::Replace(reason) => {
                tracing::warn!(
                    path = %path.display(),
                    "{reason}: replacing the cache key, so every cached component is compiled again"
                );
                create_key(path, true)
                    .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
            }
        }
    }
    Err(format!("{} keeps changing", path.display()))
}

fn read_key(path: &Path) -> Result<KeyFile, String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(KeyFile::Missing),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    // The opened file's own metadata: what was checked is what is read.
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    owner::check_mine(&meta).map_err(|reason| format!("{}: {reason}", path.display()))?;
    let mode = owner::mode(&meta);
    if mode & 0o077 != 0 {
        return Ok(KeyFile::Replace(format!(
            "other users can read or write it (mode {:o})",
            mode & 0o7777
        )));
    }
    let mut key = Vec::with_capacity(KEY_LEN + 1);
    file.take(KEY_LEN as u64 + 1)
        .read_to_end(&mut key)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match <[u8; KEY_LEN]>::try_from(key.as_slice()) {
        Ok(key) => Ok(KeyFile::Good(Key(key))),
        Err(_) => Ok(KeyFile::Replace(format!("it is not a {KEY_LEN}-byte key"))),
    }
}

/// Writes a new random key in full to a private temporary file (created
/// exclusively, mode 0600), then moves it into place: without `replace`
/// only if there is no key yet (`AlreadyExists` if another process won the
/// race), so the key a process holds is the one on disk.
fn create_key(path: &Path, replace: bool) -> io::Result<()> {
    let mut secret = [0u8; KEY_LEN];
    File::open("/dev/urandom")?.read_exact(&mut secret)?;
    let dir = path.parent().expect("the key has a directory");
    let mut builder = tempfile::Builder::new();
    builder.prefix(".key-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(&secret)?;
    tmp.as_file().sync_all()?;
    if replace {
        tmp.persist(path)?;
    } else {
        tmp.persist_noclobber(path)?;
    }
    Ok(())
}

/// The entry's compiled bytes, only if its tag is valid; `Ok(None)` when
/// there is no entry, `Err` (why not) when there is one that is not usable.
fn read_verified(path: &Path, key: &Key) -> Result<Option<Vec<u8>>, String> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot open it: {error}")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    owner::check_mine(&meta)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let body_len = bytes
        .len()
        .checked_sub(TRAILER_LEN)
        .filter(|&n| bytes[n + TAG_LEN..] == MAGIC[..])
        .ok_or("it has no integrity tag")?;
    let (body, tag) = bytes.split_at(body_len);
    key.mac(entry_name(path), body)
        .verify_slice(&tag[..TAG_LEN])
        .map_err(|_| "its integrity tag does not match: changed since it was written, or written with another key")?;
    bytes.truncate(body_len);
    Ok(Some(bytes))
}

/// Writes to a temporary file and renames it into place, so a reader never
/// sees a partial file, even when two processes compile the same judge. The
/// rename replaces whatever was there (an entry that failed verification).
fn store(path: &Path, key: &Key, component: &Component) -> anyhow::Result<()> {
    let mut bytes = component
        .serialize()
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let tag = key.mac(entry_name(path), &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag);
    bytes.extend_from_slice(MAGIC);
    let dir = path.parent().expect("cache paths have a parent");
    // Created with mode 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    Ok(())
}

/// Ownership and permission bits; nothing to check where there are none.
#[cfg(unix)]
mod owner {
    use std::os::unix::fs::MetadataExt;

    pub(super) fn check_mine(meta: &std::fs::Metadata) -> Result<(), String> {
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() == me {
            Ok(())
        } else {
            Err(format!("it belongs to another user (uid {})", meta.uid()))
        }
    }

    pub(super) fn mode(meta: &std::fs::Metadata) -> u32 {
        meta.mode()
    }
}

#[cfg(not(unix))]
mod owner {
    pub(super) fn check_mine(_: &std::fs::Metadata) -> Result<(), String> {
        Ok(())
    }

    pub(super) fn mode(_: &std::fs::Metadata) -> u32 {
        0
    }
}

pub(crate) use crate::digest::{hex, sha256_hex};

/// `std::hash::Hasher` over SHA-256, so the engine's compatibility hash gives
/// the same key in every process (`DefaultHasher` is not stable).
struct StableHasher(Sha256);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the SHA-256 digest is read")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_key_is_stable_across_engines_with_one_config() {
        let a = ComponentCache::new(&Engine::default(), None);
        let b = ComponentCache::new(&Engine::default(), None);
        assert_eq!(a.engine_key, b.engine_key);
    }

    /// The smallest component: a header and nothing else.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    struct Fixture {
        engine: Engine,
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                engine: Engine::default(),
                dir: tempfile::tempdir().unwrap(),
            }
        }

        /// A fresh cache on the same directory, as a new process would open it.
        fn cache(&self) -> ComponentCache {
            ComponentCache::new(&self.engine, Some(self.dir.path().to_owned()))
        }

        fn components(&self) -> PathBuf {
            self.dir.path().join("components")
        }

        fn entry(&self) -> PathBuf {
            self.cache().path_for(&sha256_hex(EMPTY)).unwrap()
        }

        /// Whether a load came from the cache, as the host loads: look up,
        /// else compile.
        fn load(&self) -> bool {
            let cache = self.cache();
            let sha256 = sha256_hex(EMPTY);
            if cache.lookup(&self.engine, &sha256).is_some() {
                return true;
            }
            cache.compile(&self.engine, EMPTY, &sha256).unwrap();
            false
        }

        fn key(&self) -> Vec<u8> {
            fs::read(self.components().join(KEY_FILE)).unwrap()
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Gives `path` to another user; `false` where this process may not.
    #[cfg(unix)]
    fn give_away(path: &Path) -> bool {
        std::os::unix::fs::chown(path, Some(65534), Some(65534)).is_ok()
    }

    #[test]
    fn an_entry_is_tagged_private_and_used_by_the_next_process() {
        let fixture = Fixture::new();
        assert!(!fixture.load(), "nothing cached yet");
        assert!(fixture.load(), "the second load is from the cache");
        let entry = fs::read(fixture.entry()).unwrap();
        assert!(entry.ends_with(MAGIC));
        assert_eq!(fixture.key().len(), KEY_LEN);
        #[cfg(unix)]
        {
            assert_eq!(mode(&fixture.components()), 0o700);
            assert_eq!(mode(&fixture.components().join(KEY_FILE)), 0o600);
            assert_eq!(mode(&fixture.entry()), 0o600);
        }
    }

    #[test]
    fn a_changed_entry_is_compiled_again_and_rewritten() {
        let fixture = Fixture::new();
        fixture.load();
        let path = fixture.entry();
        let good = fs::read(&path).unwrap();
        // Every part of the file: the compiled code, the tag, the marker.
        for at in [0, good.len() / 2, good.len() - TRAILER_LEN, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 1;
            fs::write(&path, &bad).unwrap();
            assert!(!fixture.load(), "a file changed at byte {at} was used");
            assert_eq!(fs::read(&path).unwrap(), good, "the entry is rewritten");
            assert!(fixture.load());
        }
        fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(!fixture.load(), "a cut file was used");
    }

    #[test]
    fn entries_tagged_with_another_key_or_not_at_all_are_not_used() {
        let fixture = Fixture::new();
        fixture.load();
        let path = fixture.entry();
        let component = Component::new(&fixture.engine, EMPTY).unwrap();

        store(&path, &Key([7; KEY_LEN]), &component).unwrap();
        assert!(!fixture.load(), "an entry tagged with another key was used");
        assert!(fixture.load());

        // What a gavel without tags (or wasmtime itself) writes.
        fs::write(&path, component.serialize().unwrap()).unwrap();
        assert!(!fixture.load(), "an untagged entry was used");
        assert!(fixture.load());

        // A valid entry under another name: the tag covers the name.
        let other = fixture
            .components()
            .join(format!("{}-other.cwasm", sha256_hex(b"other")));
        fs::copy(&path, &other).unwrap();
        let key = fixture.cache().key().cloned().unwrap();
        assert!(read_verified(&other, &key).is_err());
        assert!(read_verified(&path, &key).unwrap().is_some());
    }

    #[cfg(unix)]
    #[test]
    fn an_entry_of_another_user_is_not_used() {
        let fixture = Fixture::new();
        fixture.load();
        if !give_away(&fixture.entry()) {
            eprintln!("skipped: cannot chown here");
            return;
        }
        assert!(!fixture.load(), "another user's entry was used");
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        assert_eq!(fs::metadata(fixture.entry()).unwrap().uid(), me, "replaced");
        assert!(fixture.load());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_replaced() {
        let fixture = Fixture::new();
        fixture.load();
        let old = fixture.key();
        chmod(&fixture.components().join(KEY_FILE), 0o644);
        assert!(!fixture.load(), "an entry tagged with a known key was used");
        assert_ne!(fixture.key(), old, "a new key");
        assert_eq!(mode(&fixture.components().join(KEY_FILE)), 0o600);
        assert!(fixture.load());
    }

    #[cfg(unix)]
    #[test]
    fn a_damaged_key_is_replaced() {
        let fixture = Fixture::new();
        fixture.load();
        fs::write(fixture.components().join(KEY_FILE), b"short").unwrap();
        chmod(&fixture.components().join(KEY_FILE), 0o600);
        assert!(!fixture.load());
        assert_eq!(fixture.key().len(), KEY_LEN);
        assert!(fixture.load());
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_is_not_used_nor_changed() {
        let fixture = Fixture::new();
        fixture.load();
        chmod(&fixture.components(), 0o777);
        assert!(fixture.cache().key().is_none());
        fs::remove_file(fixture.entry()).unwrap();
        assert!(!fixture.load());
        assert!(!fixture.load(), "nothing is cached");
        assert!(!fixture.entry().exists());
        assert_eq!(mode(&fixture.components()), 0o777, "not ours to fix");
        chmod(&fixture.components(), 0o700);
        assert!(!fixture.load());
        assert!(fixture.load(), "trusted again");
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_or_key_of_another_user_is_not_used() {
        let fixture = Fixture::new();
        fixture.load();
        let key = fixture.components().join(KEY_FILE);
        if !give_away(&key) {
            eprintln!("skipped: cannot chown here");
            return;
        }
        assert!(
            fixture.cache().key().is_none(),
            "another user's key was used"
        );
        assert!(!fixture.load());
        assert_eq!(fixture.key().len(), KEY_LEN, "left alone");

        fs::remove_file(&key).unwrap();
        assert!(give_away(&fixture.components()));
        assert!(
            fixture.cache().key().is_none(),
            "another user's directory was used"
        );
        assert!(!key.exists(), "nothing written into it");
    }

    #[test]
    fn openers_racing_to_create_the_key_agree_on_one() {
        let fixture = Fixture::new();
        let dir = fixture.components();
        create_private_dir(&dir).unwrap();
        let keys: Vec<[u8; KEY_LEN]> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| open_key(&dir.join(KEY_FILE)).unwrap().0))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        assert_eq!(fixture.key(), keys[0]);
        let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left");
    }

    #[test]
    fn the_key_is_not_printed() {
        assert_eq!(format!("{:?}", Key([1; KEY_LEN])), "Key(..)");
    }
}
