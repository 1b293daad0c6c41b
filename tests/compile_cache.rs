//! The compiled-component cache runs only code it verified: a changed,
//! foreign or untagged `.cwasm` is compiled again, never executed, and a
//! cache others could tamper with is not used. Compiling is bounded in size
//! and time, and a load past a bound fails alone.
//!
//! Each test has its own cache directory: the shared test cache is not
//! tampered with.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gavel::{Host, HostOptions, Judge, Plugin, PluginSource, Rating, Settings};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{self, components};

fn host(cache: &Path) -> Host {
    host_with(cache, HostOptions::default())
}

fn host_with(cache: &Path, options: HostOptions) -> Host {
    Host::new(HostOptions {
        cache_dir: Some(cache.to_owned()),
        ..options
    })
    .expect("host")
}

fn components_dir(cache: &Path) -> PathBuf {
    cache.join("components")
}

/// The cache's compiled entries.
fn entries(cache: &Path) -> Vec<PathBuf> {
    let Ok(dir) = fs::read_dir(components_dir(cache)) else {
        return Vec::new();
    };
    dir.map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "cwasm"))
        .collect()
}

/// The entry holding the compiled code of the component at `component`:
/// entries are named by the component's SHA-256.
fn entry_for(cache: &Path, component: &Path) -> PathBuf {
    entry_for_bytes(cache, &fs::read(component).unwrap())
}

fn entry_for_bytes(cache: &Path, component: &[u8]) -> PathBuf {
    let sha256: String = Sha256::digest(component)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut found: Vec<_> = entries(cache)
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with(&format!("{sha256}-"))
        })
        .collect();
    assert_eq!(found.len(), 1, "one entry for the component {sha256}");
    found.remove(0)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The example judge loads and judges: over a 2-word limit, it says "no"
/// without asking an LLM. Its code, not someone else's, ran.
async fn assert_works(host: &Host, plugin: &Plugin) {
    assert_eq!(plugin.name(), "conciseness");
    let judge = Judge::new(
        plugin.clone(),
        Settings {
            options: json!({"max_words": 2}).as_object().unwrap().clone(),
            ..Settings::default()
        },
    );
    let row = support::row(json!({"request": "What is 2+2?", "response": "It is 4."}));
    let judgment = host.judge(&judge, &row).await.judgment.unwrap();
    assert_eq!(judgment.rating, Rating::No);
    assert_eq!(judgment.rationale, "3 words, over the limit of 2.");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_compiled_file_is_compiled_again_and_rewritten() {
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path();
    let example = components::rust_example();
    assert!(!host(cache).load_file(&example).await.unwrap().from_cache());
    assert!(host(cache).load_file(&example).await.unwrap().from_cache());
    let entry = entry_for(cache, &example);
    let good = fs::read(&entry).unwrap();

    let mut changed = good.clone();
    changed[good.len() / 2] ^= 0x01;
    fs::write(&entry, &changed).unwrap();
    let host = host(cache);
    let plugin = host.load_file(&example).await.unwrap();
    assert!(!plugin.from_cache(), "a changed compiled file was used");
    assert_works(&host, &plugin).await;
    assert_eq!(
        fs::read(&entry).unwrap(),
        good,
        "the entry is written again"
    );

    let again = self::host(cache);
    let plugin = again.load_file(&example).await.unwrap();
    assert!(plugin.from_cache(), "the rewritten entry is valid");
    assert_works(&again, &plugin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_code_from_someone_else_is_never_run() {
    // Someone else's gavel, with its own key, compiles the hostile judge:
    // valid wasmtime output for this very engine configuration.
    let theirs = tempfile::tempdir().unwrap();
    // (Bytes read once: the hostile judge is rebuilt as it is worked on.)
    let hostile = fs::read(components::hostile()).unwrap();
    host(theirs.path())
        .load_bytes(&hostile, PluginSource::Builtin)
        .await
        .unwrap();
    let tagged = fs::read(entry_for_bytes(theirs.path(), &hostile)).unwrap();
    // Without gavel's trailer (a 32-byte tag and an 8-byte marker): what
    // wasmtime itself writes, and what an older gavel wrote.
    assert!(tagged.ends_with(b"gavelmac"));
    let untagged = tagged[..tagged.len() - 40].to_vec();

    let mine = tempfile::tempdir().unwrap();
    let example = components::rust_example();
    host(mine.path()).load_file(&example).await.unwrap();
    let entry = entry_for(mine.path(), &example);
    for (what, foreign) in [("tagged with another key", tagged), ("untagged", untagged)] {
        // Planted as the example judge's compiled code.
        fs::write(&entry, &foreign).unwrap();
        let host = host(mine.path());
        let plugin = host.load_file(&example).await.unwrap();
        assert!(!plugin.from_cache(), "{what}: the planted file was used");
        assert_eq!(plugin.name(), "conciseness", "{what}: the planted code ran");
        assert_works(&host, &plugin).await;
        assert_ne!(
            fs::read(&entry).unwrap(),
            foreign,
            "{what}: the planted file stayed"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_others_can_read_or_a_directory_others_can_write_is_not_trusted() {
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path();
    let example = components::rust_example();
    host(cache).load_file(&example).await.unwrap();
    let dir = components_dir(cache);
    let key = dir.join(".key");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&key), 0o600);

    // A key others can read may be known: replaced, and every entry made
    // under it compiled again.
    let known = fs::read(&key).unwrap();
    chmod(&key, 0o644);
    let host = self::host(cache);
    let plugin = host.load_file(&example).await.unwrap();
    assert!(!plugin.from_cache(), "an entry under a known key was used");
    assert_works(&host, &plugin).await;
    assert_eq!(mode(&key), 0o600);
    assert_ne!(fs::read(&key).unwrap(), known, "a new key");
    assert!(
        self::host(cache)
            .load_file(&example)
            .await
            .unwrap()
            .from_cache()
    );

    // A directory anyone can write to: not used at all, not even its valid
    // entries, and not changed; every load compiles and still works.
    chmod(&dir, 0o777);
    let before = entries(cache);
    let host = self::host(cache);
    let plugin = host.load_file(&example).await.unwrap();
    assert!(
        !plugin.from_cache(),
        "an entry in a shared directory was used"
    );
    assert_works(&host, &plugin).await;
    let builtins = host.load_builtins().await.unwrap();
    assert!(builtins.iter().all(|p| !p.from_cache()));
    assert_eq!(entries(cache), before, "nothing written into it");
    assert_eq!(mode(&dir), 0o777, "someone else's directory is not fixed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_over_the_size_limit_is_refused_before_compiling() {
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path();
    let files = tempfile::tempdir().unwrap();
    // Sparse: 64 MiB and a byte, on no disk.
    let huge = files.path().join("huge.wasm");
    fs::File::create(&huge)
        .unwrap()
        .set_len((64 << 20) + 1)
        .unwrap();
    let error = host(cache).load_file(&huge).await.unwrap_err();
    eprintln!("{error}");
    assert!(
        error.reason.contains("67108865 bytes (64.0 MiB)")
            && error
                .reason
                .contains("over the limit of 67108864 bytes (64.0 MiB)"),
        "{error}"
    );

    // A lower limit applies to every load, built-ins too (the smallest is
    // about 57 KB).
    let small = host_with(
        cache,
        HostOptions {
            max_component_bytes: 50_000,
            ..HostOptions::default()
        },
    );
    let error = small
        .load_file(&components::rust_example())
        .await
        .unwrap_err();
    assert!(
        error.reason.contains("over the limit of 50000 bytes"),
        "{error}"
    );
    let error = small.load_builtins().await.unwrap_err();
    assert!(
        error.reason.contains("over the limit of 50000 bytes"),
        "{error}"
    );
    // A file whose size says nothing is read no further than the limit.
    let error = small.load_file(Path::new("/dev/zero")).await.unwrap_err();
    assert!(
        error.reason.contains("the component is 50001 bytes"),
        "{error}"
    );
    assert!(entries(cache).is_empty(), "nothing was compiled");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compilation_past_its_time_limit_fails_the_load_and_the_host_goes_on() {
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path();
    let example = components::rust_example();
    let large = components::example("js");
    host(cache).load_file(&example).await.unwrap();

    let strict = host_with(
        cache,
        HostOptions {
            max_compile_time: Duration::from_millis(1),
            ..HostOptions::default()
        },
    );
    let started = Instant::now();
    let error = strict.load_file(&large).await.unwrap_err();
    let failed_after = started.elapsed();
    eprintln!("{error} (after {failed_after:?})");
    assert!(
        error
            .reason
            .contains("compiling it took longer than 1ms, the limit on compiling a plugin"),
        "{error}"
    );

    // The same host loads (from the cache: no compiling) and judges.
    let plugin = strict.load_file(&example).await.unwrap();
    assert!(plugin.from_cache());
    assert_works(&strict, &plugin).await;

    // The compilation could not be stopped; it ends in the background and
    // its result is cached, so the next load needs no compiling.
    let deadline = Instant::now() + Duration::from_secs(600);
    while entries(cache).len() < 2 {
        assert!(Instant::now() < deadline, "the compilation never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "compiling {} KB took {:?} in the background",
        fs::metadata(&large).unwrap().len() >> 10,
        started.elapsed()
    );
    let plugin = strict.load_file(&large).await.unwrap();
    assert!(plugin.from_cache());
    assert_eq!(plugin.name(), "conciseness");
}
