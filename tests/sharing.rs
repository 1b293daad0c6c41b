//! Which build of a judge a run used: a pinned digest refuses any other
//! build, every run records each judge's digest, and `gavel compare` says
//! when two runs used different builds.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{self, TestLlm, components, gavel, write_jsonl};

fn sha256_of(path: &std::path::Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn config(plugin: &std::path::Path, sha256: Option<&str>) -> String {
    let mut text = format!(
        "[judges.conciseness]\nplugin = {:?}\n",
        plugin.display().to_string()
    );
    if let Some(digest) = sha256 {
        text.push_str(&format!("sha256 = {digest:?}\n"));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_judge_runs_only_as_the_build_pinned_and_runs_record_every_digest() {
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
    let (rust_digest, c_digest) = (sha256_of(&rust), sha256_of(&c));
    assert_ne!(rust_digest, c_digest);
    let url = llm.base_url();
    let eval = |name: &'static str| {
        let url = url.clone();
        async move {
            gavel(
                d,
                &[
                    "eval",
                    "set.jsonl",
                    "--judges",
                    "conciseness",
                    "--out",
                    name,
                    "--run-name",
                    name,
                    "--judge-base-url",
                    &url,
                ],
                &[],
            )
            .await
        }
    };

    // The pinned build runs; the digest is in run.json, the history and
    // the comparison.
    std::fs::write(
        d.join("gavel.toml"),
        config(&rust, Some(&rust_digest.to_uppercase())),
    )
    .unwrap();
    let out = eval("baseline").await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run: Value = support::read_run(&d.join("baseline"));
    let judge = &run["judges"][0];
    assert_eq!(
        (judge["name"].as_str(), judge["sha256"].as_str()),
        (Some("conciseness"), Some(rust_digest.as_str()))
    );
    let out = gavel(d, &["runs", "--json"], &[]).await;
    let listed: Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(listed["judges"][0]["sha256"], rust_digest.as_str());

    // Another build under the same pin is refused before it runs.
    std::fs::write(d.join("gavel.toml"), config(&c, Some(&rust_digest))).unwrap();
    let out = eval("refused").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "[judges.conciseness]: cannot load judge plugin {}: its SHA-256 is {c_digest}, not the pinned {rust_digest}",
            c.display()
        )),
        "{}",
        out.stderr
    );
    assert!(!d.join("refused").join("results.jsonl").exists());
    assert!(llm.requests().len() == 1, "only the first run asked");

    // A digest that is not one is named as such.
    std::fs::write(d.join("gavel.toml"), config(&c, Some("sha256:abc"))).unwrap();
    let out = eval("malformed").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("[judges.conciseness]: `sha256` must be 64 hex digits"),
        "{}",
        out.stderr
    );
    std::fs::write(
        d.join("gavel.toml"),
        "[judges.tone]\nprompt = \"Polite? {{response}}\"\nsha256 = \"00\"\n",
    )
    .unwrap();
    let out = gavel(d, &["judges", "list"], &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("[judges.tone]: `sha256` pins a plugin's file; a prompt judge has none"),
        "{}",
        out.stderr
    );

    // The same judge name and version in another build: the comparison
    // says the judge changed.
    std::fs::write(d.join("gavel.toml"), config(&c, Some(&c_digest))).unwrap();
    let out = eval("candidate").await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = gavel(
        d,
        &["compare", "baseline", "candidate", "--html", "compare.html"],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let changed = format!(
        "conciseness: 1.0.0 (sha256 {}) -> 1.0.0 (sha256 {})",
        &rust_digest[..12],
        &c_digest[..12]
    );
    assert!(
        out.stdout.contains("Judges changed:") && out.stdout.contains(&changed),
        "{}",
        out.stdout
    );
    let page = std::fs::read_to_string(d.join("compare.html")).unwrap();
    assert!(
        page.contains("Judges changed") && page.contains(&changed.replace('>', "&gt;")),
        "the page says it too"
    );
    // Two runs of one build say nothing of the kind.
    let out = gavel(d, &["compare", "candidate", "candidate"], &[]).await;
    assert!(!out.stdout.contains("Judges changed"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_file_judge_refuses_to_run_once_the_file_changed() {
    let llm = TestLlm::start().await;
    llm.always(&support::verdict("yes", "Concise."));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(
        &d.join("set.jsonl"),
        &[json!({"request": "2+2?", "response": "4"})],
    );
    let judge = d.join("conciseness.wasm");
    std::fs::copy(components::rust_example(), &judge).unwrap();
    std::fs::write(d.join("gavel.toml"), config(&judge, None)).unwrap();
    let url = llm.base_url();
    let eval = |name: &'static str| {
        let url = url.clone();
        async move {
            let args = [
                "eval",
                "set.jsonl",
                "--locked",
                "--judges",
                "conciseness",
                "--out",
                name,
                "--judge-base-url",
                &url,
            ];
            gavel(d, &args, &[]).await
        }
    };
    let out = gavel(d, &["lock"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let locked_digest = sha256_of(&judge);
    assert!(
        out.stdout.contains(&format!(
            "+ conciseness: {} (sha256:{locked_digest})",
            judge.display()
        )),
        "{}",
        out.stdout
    );
    let out = eval("locked").await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Someone rebuilds the file: CI's locked run refuses and says how to go on.
    let c = tokio::task::spawn_blocking(|| components::example("c"))
        .await
        .unwrap();
    std::fs::copy(&c, &judge).unwrap();
    let out = eval("changed").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "judge `conciseness`: {} changed since gavel.lock was written (SHA-256 {}, locked {locked_digest})",
            judge.display(),
            sha256_of(&c)
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("run `gavel lock`"), "{}", out.stderr);
    assert!(!d.join("changed").join("results.jsonl").exists());

    // A judge added to gavel.toml but not locked, and one locked but gone.
    std::fs::write(
        d.join("gavel.toml"),
        config(&judge, None).replace("conciseness]", "brevity]"),
    )
    .unwrap();
    let out = gavel(d, &["judges", "list", "--locked"], &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("judge `brevity` is not in gavel.lock"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("gavel.lock pins judge `conciseness`, which gavel.toml no longer has"),
        "{}",
        out.stderr
    );
}
