//! Sharing judges through a real OCI registry (Debian's docker-registry on
//! 127.0.0.1): push and pull, tags resolved to digests, gavel.lock and
//! `--locked`, a tampered blob refused, a stopped registry, basic auth, and
//! oras (another OCI client) reading what gavel pushes and the reverse.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::registry::TestRegistry;
use crate::support::{self, TestLlm, components, gavel, write_jsonl};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn json_line(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn oras(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    support::run_setup_script("tests/registry/setup.sh", "it installs oras from PyPI").await;
    let python = support::workspace().join("target/tools/oras-venv/bin/python");
    let script = support::workspace().join("tests/registry/oras_client.py");
    let mut command = std::process::Command::new(python);
    command.arg(script).args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// The Rust example judge with every `gavel:judge@0.1.2` name rewritten to
/// `@0.2.0` (same length, so still a valid component): a judge built
/// against a WIT version this gavel does not host.
fn future_judge(dir: &std::path::Path) -> std::path::PathBuf {
    let mut bytes = std::fs::read(components::rust_example()).unwrap();
    let (from, to) = (b"gavel:judge/", b"@0.1.2");
    let mut replaced = 0;
    let mut i = 0;
    while i + from.len() < bytes.len() {
        if bytes[i..].starts_with(from) {
            let end = bytes[i..]
                .iter()
                .take(64)
                .position(|&b| b == b'@')
                .map(|p| i + p);
            if let Some(at) = end
                && bytes[at..].starts_with(to)
            {
                bytes[at..at + to.len()].copy_from_slice(b"@0.2.0");
                replaced += 1;
            }
        }
        i += 1;
    }
    assert!(replaced > 0);
    let path = dir.join("future.wasm");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn push_and_pull_round_trip_in_the_cncf_layout_that_oras_reads_and_writes() {
    let registry = TestRegistry::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rust = components::rust_example();
    let rust_sha = sha256_hex(&std::fs::read(&rust).unwrap());
    let tag = registry.reference("team/conciseness:1.0");

    let out = gavel(
        d,
        &["judges", "push", rust.to_str().unwrap(), &tag, "--json"],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pushed = json_line(&out.stdout);
    let digest = pushed["digest"].as_str().unwrap().to_owned();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    assert_eq!(pushed["sha256"], rust_sha.as_str());
    assert_eq!(pushed["pinned"], format!("{tag}@{digest}"));

    // With SOURCE_DATE_EPOCH, the same build pushed twice has one digest.
    let reproducible = [("SOURCE_DATE_EPOCH", "1700000000")];
    let mut digests = Vec::new();
    for tag in ["team/conciseness:r1", "team/conciseness:r2"] {
        let out = gavel(
            d,
            &[
                "judges",
                "push",
                rust.to_str().unwrap(),
                &registry.reference(tag),
                "--json",
            ],
            &reproducible,
        )
        .await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        digests.push(json_line(&out.stdout)["digest"].clone());
    }
    assert_eq!(digests[0], digests[1]);
    assert_ne!(digests[0], digest.as_str());

    // Pulled by tag and by digest: the same bytes, the tag resolved.
    let out = gavel(
        d,
        &["judges", "pull", &tag, "-o", "by-tag.wasm", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pulled = json_line(&out.stdout);
    assert_eq!(pulled["digest"], digest.as_str());
    assert_eq!(pulled["sha256"], rust_sha.as_str());
    assert_eq!(pulled["wit"], "gavel:judge@0.1.2");
    assert_eq!(
        std::fs::read(d.join("by-tag.wasm")).unwrap(),
        std::fs::read(&rust).unwrap()
    );
    let by_digest = registry.reference(&format!("team/conciseness@{digest}"));
    let out = gavel(d, &["judges", "pull", &by_digest], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("have "),
        "already stored: {}",
        out.stdout
    );

    // oras reads what gavel pushed: the CNCF Wasm artifact layout.
    let oras_out = d.join("oras-out");
    let out = oras(
        &[
            "pull",
            &registry.host(),
            "team/conciseness:1.0",
            oras_out.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = &seen["manifest"];
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(
        manifest["layers"][0]["digest"],
        format!("sha256:{rust_sha}")
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.title"],
        "conciseness"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"],
        "1.0.0"
    );
    let config = &seen["config"];
    assert_eq!(
        (config["architecture"].as_str(), config["os"].as_str()),
        (Some("wasm"), Some("wasip2"))
    );
    assert_eq!(
        config["layerDigests"],
        json!([format!("sha256:{rust_sha}")])
    );
    let exports = config["component"]["exports"].to_string();
    assert!(exports.contains("gavel:judge/judge@0.1.2"), "{exports}");
    let imports = config["component"]["imports"].to_string();
    assert!(imports.contains("gavel:judge/llm@0.1"), "{imports}");
    assert_eq!(config["component"]["target"], "gavel:judge/plugin@0.1.2");
    let written = oras_out.join("conciseness.wasm");
    assert_eq!(
        std::fs::read(&written).unwrap(),
        std::fs::read(&rust).unwrap()
    );

    // gavel pulls what oras pushed in the same layout.
    let c = tokio::task::spawn_blocking(|| components::example("c"))
        .await
        .unwrap();
    let staged = d.join("c-judge.wasm");
    std::fs::copy(&c, &staged).unwrap();
    let out = oras(
        &[
            "push",
            &registry.host(),
            "other-team/conciseness:c",
            staged.to_str().unwrap(),
            "application/wasm",
            "application/vnd.wasm.config.v0+json",
        ],
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gavel(
        d,
        &[
            "judges",
            "pull",
            &registry.reference("other-team/conciseness:c"),
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json_line(&out.stdout)["sha256"],
        sha256_hex(&std::fs::read(&c).unwrap()).as_str()
    );

    // What is not a judge is refused with what it is.
    let text = d.join("notes.txt");
    std::fs::write(&text, "not a judge").unwrap();
    let out = oras(
        &[
            "push",
            &registry.host(),
            "team/notes:1",
            text.to_str().unwrap(),
            "text/plain",
            "application/vnd.oci.image.config.v1+json",
        ],
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gavel(
        d,
        &["judges", "pull", &registry.reference("team/notes:1")],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("is not a judge component: it has a layer of type text/plain"),
        "{}",
        out.stderr
    );

    // A judge built against a WIT this gavel does not host: gavel refuses
    // to push it, and refuses it pulled, naming both versions.
    let future = future_judge(d);
    let out = gavel(
        d,
        &[
            "judges",
            "push",
            future.to_str().unwrap(),
            &registry.reference("team/future:1"),
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("it targets gavel:judge@0.2.0, and this gavel hosts gavel:judge@0.1.2"),
        "{}",
        out.stderr
    );
    let out = oras(
        &[
            "push",
            &registry.host(),
            "team/future:1",
            future.to_str().unwrap(),
            "application/wasm",
            "application/vnd.wasm.config.v0+json",
        ],
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gavel(
        d,
        &["judges", "pull", &registry.reference("team/future:1")],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("it targets gavel:judge@0.2.0, and this gavel hosts gavel:judge@0.1.2"),
        "{}",
        out.stderr
    );

    // Unknown tags and malformed references.
    let out = gavel(
        d,
        &[
            "judges",
            "pull",
            &registry.reference("team/conciseness:9.9"),
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("team/conciseness:9.9 does not exist in the registry"),
        "{}",
        out.stderr
    );
    let out = gavel(d, &["judges", "pull", "oci://team/conciseness:1.0"], &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("must start with the registry's host"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_blob_is_refused_and_never_stored_or_loaded() {
    let registry = TestRegistry::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rust = components::rust_example();
    let tag = registry.reference("team/conciseness:1.0");
    let out = gavel(d, &["judges", "push", rust.to_str().unwrap(), &tag], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let layer = format!("sha256:{}", sha256_hex(&std::fs::read(&rust).unwrap()));
    let blob = registry.blob_path(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    // A cache of its own, so nothing was stored before.
    let cache = d.join("cache");
    let env = [("GAVEL_CACHE_DIR", cache.to_str().unwrap())];
    let out = gavel(d, &["judges", "pull", &tag], &env).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the content is not what its digest says"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&layer), "{}", out.stderr);
    assert!(!cache.join("judges/blobs").exists(), "nothing stored");
    assert!(!cache.join("components").exists(), "nothing compiled");
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_use_the_locked_build_refuse_a_stale_lock_and_keep_working_when_the_registry_stops() {
    let mut registry = TestRegistry::start(None).await;
    let llm = TestLlm::start().await;
    llm.always(&support::verdict("yes", "Concise."));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(
        &d.join("set.jsonl"),
        &[json!({"request": "2+2?", "response": "4"})],
    );
    let rust = components::rust_example();
    let c = tokio::task::spawn_blocking(|| components::example("c"))
        .await
        .unwrap();
    let (rust_sha, c_sha) = (
        sha256_hex(&std::fs::read(&rust).unwrap()),
        sha256_hex(&std::fs::read(&c).unwrap()),
    );
    let tag = registry.reference("team/conciseness:stable");
    let push = |file: std::path::PathBuf, tag: String| async move {
        let out = gavel(
            d,
            &["judges", "push", file.to_str().unwrap(), &tag, "--json"],
            &[],
        )
        .await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        json_line(&out.stdout)["digest"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let rust_digest = push(rust.clone(), tag.clone()).await;
    std::fs::write(
        d.join("gavel.toml"),
        format!("[judges.conciseness]\nplugin = {tag:?}\n"),
    )
    .unwrap();
    let url = llm.base_url();
    let eval = |name: &'static str, extra: &'static [&'static str]| {
        let url = url.clone();
        async move {
            let mut args = vec![
                "eval",
                "set.jsonl",
                "--judges",
                "conciseness",
                "--out",
                name,
                "--judge-base-url",
                &url,
            ];
            args.extend_from_slice(extra);
            gavel(d, &args, &[]).await
        }
    };

    // `--locked` without a lock file says how to make one.
    let out = eval("no-lock", &["--locked"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--locked: gavel.lock does not exist; run `gavel lock`"),
        "{}",
        out.stderr
    );

    // gavel lock pins the tag's digest.
    let out = gavel(d, &["lock"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(&format!("+ conciseness: {tag} ({rust_digest})")),
        "{}",
        out.stdout
    );
    let lock = std::fs::read_to_string(d.join("gavel.lock")).unwrap();
    assert!(
        lock.contains(&format!("digest = \"{rust_digest}\"")),
        "{lock}"
    );
    assert!(lock.contains(&format!("sha256 = \"{rust_sha}\"")), "{lock}");
    let out = gavel(d, &["lock"], &[]).await;
    assert!(out.stdout.contains("unchanged"), "{}", out.stdout);

    // The tag moves to another build; locked runs keep the reviewed one.
    let c_digest = push(c.clone(), tag.clone()).await;
    assert_ne!(c_digest, rust_digest);
    let out = eval("locked", &["--locked"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run = support::read_run(&d.join("locked"));
    assert_eq!(run["judges"][0]["sha256"], rust_sha.as_str());
    let out = gavel(d, &["judges", "list", "--json"], &[]).await;
    assert!(
        out.stdout.contains(&format!("{tag}@{rust_digest}")),
        "{}",
        out.stdout
    );

    // The configuration changes without a new lock: --locked refuses.
    let next = registry.reference("team/conciseness:next");
    let next_digest = push(c.clone(), next.clone()).await;
    std::fs::write(
        d.join("gavel.toml"),
        format!("[judges.conciseness]\nplugin = {next:?}\n"),
    )
    .unwrap();
    let out = eval("stale", &["--locked"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "judge `conciseness` is `{next}` in gavel.toml and `{tag}` in gavel.lock"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("run `gavel lock` to update gavel.lock"),
        "{}",
        out.stderr
    );
    assert!(!d.join("stale").join("results.jsonl").exists());
    let out = gavel(d, &["lock"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(&format!("~ conciseness: {tag} ({rust_digest})")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("now {next} ({next_digest})")),
        "{}",
        out.stdout
    );
    let out = eval("relocked", &["--locked"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        support::read_run(&d.join("relocked"))["judges"][0]["sha256"],
        c_sha.as_str()
    );

    // The registry stops: locked runs need nothing from it, and a tag pulled
    // before is used from the store with a warning.
    registry.stop();
    let out = eval("offline-locked", &["--locked"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::remove_file(d.join("gavel.lock")).unwrap();
    let out = eval("offline-tag", &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("registry {} cannot be reached", registry.host())),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("what the tag named when last pulled"),
        "{}",
        out.stderr
    );
    assert_eq!(
        support::read_run(&d.join("offline-tag"))["judges"][0]["sha256"],
        c_sha.as_str()
    );

    // A tag never pulled cannot be guessed: a clear error, nothing run.
    let never = registry.reference("team/conciseness:never");
    std::fs::write(
        d.join("gavel.toml"),
        format!("[judges.conciseness]\nplugin = {never:?}\n"),
    )
    .unwrap();
    let out = eval("never", &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "[judges.conciseness]: registry {} cannot be reached",
            registry.host()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Connection refused"), "{}", out.stderr);
    assert!(!d.join("never").join("results.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_behind_basic_auth_takes_docker_logins_and_refuses_others() {
    let (user, password) = ("team-ci", "s3cret-registry-password");
    let registry = TestRegistry::start(Some((user, password))).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rust = components::rust_example();
    let tag = registry.reference("team/conciseness:1.0");
    let no_login = d.join("no-login");
    std::fs::create_dir_all(&no_login).unwrap();
    let anonymous = [("DOCKER_CONFIG", no_login.to_str().unwrap())];

    let out = gavel(
        d,
        &["judges", "push", rust.to_str().unwrap(), &tag],
        &anonymous,
    )
    .await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "registry {} refused the credentials",
            registry.host()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("docker login"), "{}", out.stderr);

    // What `docker login` leaves in config.json.
    let docker = d.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64_encode(format!("{user}:{password}").as_bytes());
    std::fs::write(
        docker.join("config.json"),
        json!({"auths": {registry.host(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let logged_in = [("DOCKER_CONFIG", docker.to_str().unwrap())];
    let out = gavel(
        d,
        &["judges", "push", rust.to_str().unwrap(), &tag],
        &logged_in,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cache = d.join("cache");
    let out = gavel(
        d,
        &["judges", "pull", &tag],
        &[logged_in[0], ("GAVEL_CACHE_DIR", cache.to_str().unwrap())],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // The CI variables win over the docker login; a wrong password is refused.
    let out = gavel(
        d,
        &["judges", "pull", &tag],
        &[
            anonymous[0],
            ("GAVEL_REGISTRY_USERNAME", user),
            ("GAVEL_REGISTRY_PASSWORD", "wrong"),
        ],
    )
    .await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("refused the credentials"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("wrong"),
        "no secret in messages: {}",
        out.stderr
    );
    let out = gavel(
        d,
        &["judges", "pull", &tag],
        &[
            anonymous[0],
            ("GAVEL_REGISTRY_USERNAME", user),
            ("GAVEL_REGISTRY_PASSWORD", password),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // oras, logged in the same way, reads it too.
    let out = oras(
        &[
            "pull",
            &registry.host(),
            "team/conciseness:1.0",
            d.join("oras").to_str().unwrap(),
        ],
        &[
            ("ORAS_USER", user),
            ("ORAS_PASSWORD", password),
            ("DOCKER_CONFIG", docker.to_str().unwrap()),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The password is written nowhere gavel writes (its store, its cache).
    for root in [&cache, &support::cache_dir().join("judges")] {
        assert!(
            !contains_text(root, password),
            "{} holds the password",
            root.display()
        );
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether any file under `root` contains `needle`.
fn contains_text(root: &std::path::Path, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(root) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            contains_text(&path, needle)
        } else {
            std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        }
    })
}

/// A registry that lies: escape sequences in media types, a layer that
/// declares 10 GiB, one that declares 100 bytes and streams 80 MiB.
async fn hostile_registry() -> (u16, tokio::task::JoinHandle<()>) {
    use axum::body::Body;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};

    let config = b"{}".to_vec();
    let config_digest = format!("sha256:{}", sha256_hex(&config));
    let flood_digest = format!("sha256:{}", "f".repeat(64));
    let manifest = |layer_type: &str, size: u64, digest: &str| {
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": config_digest, "size": 2},
            "layers": [{"mediaType": layer_type, "digest": digest, "size": size}],
        })
        .to_string()
    };
    let manifests = std::sync::Arc::new([
        (
            "escape",
            manifest("\u{1b}[2J\u{1b}[31mapplication/evil\u{7}", 4, &flood_digest),
        ),
        (
            "huge",
            manifest("application/wasm", 10 << 30, &flood_digest),
        ),
        ("flood", manifest("application/wasm", 100, &flood_digest)),
    ]);
    let app = move |method: Method, uri: Uri| {
        let manifests = manifests.clone();
        let (config, config_digest) = (config.clone(), config_digest.clone());
        async move {
            let path = uri.path();
            if path == "/v2/" {
                return StatusCode::OK.into_response();
            }
            if path.contains("/manifests/") {
                let Some((_, body)) = manifests
                    .iter()
                    .find(|(name, _)| path.contains(&format!("/evil/{name}/")))
                else {
                    return StatusCode::NOT_FOUND.into_response();
                };
                let mut headers = HeaderMap::new();
                headers.insert(
                    "content-type",
                    "application/vnd.oci.image.manifest.v1+json"
                        .parse()
                        .unwrap(),
                );
                headers.insert(
                    "docker-content-digest",
                    format!("sha256:{}", sha256_hex(body.as_bytes()))
                        .parse()
                        .unwrap(),
                );
                let body = if method == Method::HEAD {
                    String::new()
                } else {
                    body.clone()
                };
                return (headers, body).into_response();
            }
            if path.ends_with(&config_digest) {
                return config.clone().into_response();
            }
            // Any other blob: 80 MiB, whatever was declared.
            let chunks =
                futures::stream::iter((0..80).map(|_| Ok::<_, std::io::Error>(vec![0u8; 1 << 20])));
            Response::new(Body::from_stream(chunks))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(app))
            .await
            .unwrap();
    });
    (port, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_registry_can_neither_flood_gavel_nor_write_to_its_terminal() {
    let (port, server) = hostile_registry().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache = d.join("cache");
    let env = [("GAVEL_CACHE_DIR", cache.to_str().unwrap())];
    let pull = |name: &'static str| {
        let reference = format!("oci://127.0.0.1:{port}/evil/{name}:1");
        async move { gavel(d, &["judges", "pull", &reference], &env).await }
    };

    let out = pull("escape").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("is not a judge component"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("application/evil"), "{}", out.stderr);
    assert!(
        !out.stderr.contains(['\u{1b}', '\u{7}']),
        "escapes reached the terminal: {:?}",
        out.stderr
    );

    let out = pull("huge").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("over the limit of 67108864 bytes on a plugin's size; it was not downloaded"),
        "{}",
        out.stderr
    );

    let started = std::time::Instant::now();
    let out = pull("flood").await;
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("the registry sent more than 100 bytes"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(!cache.join("judges/blobs").exists(), "nothing stored");
    server.abort();
}
