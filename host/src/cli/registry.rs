//! `gavel judges push`, `gavel judges pull` and `gavel lock`: sharing judge
//! components through OCI registries.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use gavel::evaluation::plugins::{LockUse, PluginLoader};
use gavel::metadata::JudgeMetadata;
use gavel::registry::{Artifact, JudgeRef, Origin, Resolve};
use gavel::{Host, HostOptions, PluginSource};
use serde_json::json;

use super::{CliError, ConfigArgs};

#[derive(clap::Args)]
pub struct PushArgs {
    /// The judge component
    file: PathBuf,

    /// Where to publish it: oci://HOST[:PORT]/NAMESPACE/NAME:TAG
    reference: String,

    /// One JSON object
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// oci://HOST[:PORT]/NAMESPACE/NAME:TAG or ...@sha256:DIGEST
    reference: String,

    /// Also write the component to this file
    #[arg(short, long, value_name = "FILE.wasm")]
    output: Option<PathBuf>,

    /// One JSON object
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct LockArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

fn reference(text: &str) -> Result<JudgeRef, CliError> {
    text.parse().map_err(CliError::bad_input)
}

/// A host for checking components: no LLM, the default limits.
fn host() -> Result<Host, CliError> {
    Host::new(HostOptions::default()).map_err(CliError::incomplete)
}

/// A registry failure: exit 2 when what was asked for is wrong (no such
/// tag, not a judge, a digest that does not match), 3 when the registry
/// or the credentials failed.
fn registry_error(error: gavel::registry::RegistryError) -> CliError {
    use gavel::registry::RegistryError as E;
    match error {
        E::NotFound { .. } | E::NotWasm { .. } | E::DigestMismatch { .. } | E::TooLarge { .. } => {
            CliError::bad_input(error)
        }
        _ => CliError::incomplete(error),
    }
}

pub async fn push(args: PushArgs) -> Result<ExitCode, CliError> {
    let target = reference(&args.reference)?;
    if target.digest().is_some() {
        return Err(CliError::bad_input(anyhow!(
            "push to a tag (oci://HOST/NAMESPACE/NAME:TAG); the registry gives the digest"
        )));
    }
    let host = host()?;
    // Only a component this gavel loads as a judge is published.
    let plugin = host
        .load_file(&args.file)
        .await
        .map_err(CliError::bad_input)?;
    let wasm = std::fs::read(&args.file)
        .map_err(|e| CliError::bad_input(anyhow!("{}: {e}", args.file.display())))?;
    let metadata = JudgeMetadata::read(&wasm)
        .map_err(|e| CliError::bad_input(anyhow!("{}: {e}", args.file.display())))?;
    let mut annotations = metadata.annotations();
    // A component without embedded metadata is still described by what its
    // describe() says.
    let describe = [
        ("org.opencontainers.image.title", plugin.name()),
        ("org.opencontainers.image.version", plugin.version()),
    ];
    for (key, value) in describe {
        annotations
            .entry(key.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    let loader_registry = gavel::registry::Registry::new(host.max_component_bytes());
    let pushed = loader_registry
        .push(
            &target,
            &Artifact {
                wasm: &wasm,
                world: plugin.world(),
                target: (!plugin.wit_version().is_empty())
                    .then(|| format!("gavel:judge/plugin@{}", plugin.wit_version())),
                annotations,
                file_name: format!("{}.wasm", plugin.name()),
            },
        )
        .await
        .map_err(registry_error)?;
    let pinned = pushed.reference.clone();
    if args.json {
        println!(
            "{}",
            json!({
                "reference": target.to_string(),
                "digest": pushed.digest,
                "pinned": pinned.to_string(),
                "sha256": plugin.sha256(),
                "name": plugin.name(),
                "version": plugin.version(),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("pushed {} ({}@{})", target, plugin.name(), plugin.version());
    println!("digest {}", pushed.digest);
    println!("sha256 {}", plugin.sha256());
    println!(
        "\nTo use this exact build, in gavel.toml:\n  plugin = \"{}\"",
        target.pinned(&pushed.digest)
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn pull(args: PullArgs) -> Result<ExitCode, CliError> {
    let target = reference(&args.reference)?;
    let host = host()?;
    let config = gavel::evaluation::config::Config::default();
    let loader = PluginLoader::new(&config, &host, LockUse::Prefer).map_err(CliError::bad_input)?;
    let fetched = loader
        .fetch(&target, Resolve::RegistryOnly)
        .await
        .map_err(registry_error)?;
    // Pulled is not trusted: it must load as a judge this gavel hosts.
    let plugin = host
        .load_bytes(
            &fetched.wasm,
            PluginSource::Registry(fetched.reference.to_string()),
        )
        .await
        .map_err(CliError::bad_input)?;
    if let Some(output) = &args.output {
        std::fs::write(output, &fetched.wasm)
            .map_err(|e| CliError::incomplete(anyhow!("{}: {e}", output.display())))?;
    }
    let cached = fetched.origin == Origin::Store;
    if args.json {
        println!(
            "{}",
            json!({
                "reference": fetched.reference.to_string(),
                "digest": fetched.digest,
                "sha256": fetched.sha256,
                "name": plugin.name(),
                "version": plugin.version(),
                "wit": format!("gavel:judge@{}", plugin.wit_version()),
                "already_stored": cached,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} {} ({}@{}, gavel:judge@{})",
        if cached { "have" } else { "pulled" },
        fetched.reference,
        plugin.name(),
        plugin.version(),
        plugin.wit_version()
    );
    println!("sha256 {}", fetched.sha256);
    if let Some(output) = &args.output {
        println!("wrote {}", output.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn lock(args: LockArgs) -> Result<ExitCode, CliError> {
    let config = args.config.load()?;
    let host = host()?;
    let loader = PluginLoader::new(&config, &host, LockUse::Prefer).map_err(CliError::bad_input)?;
    let locked = loader
        .lock(&host, &config)
        .await
        .map_err(CliError::bad_input)?;
    let path = locked.path.display();
    if locked.changes.is_empty() {
        println!(
            "{path}: {} plugin judge(s), unchanged",
            locked.lock.judges.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{path}: {} plugin judge(s)", locked.lock.judges.len());
    let build = |entry: &gavel::registry::LockedJudge| match &entry.digest {
        Some(digest) => format!("{} ({digest})", entry.plugin),
        None => format!("{} (sha256:{})", entry.plugin, entry.sha256),
    };
    for (name, before, after) in &locked.changes {
        match (before, after) {
            (None, Some(after)) => println!("  + {name}: {}", build(after)),
            (Some(before), None) => println!("  - {name}: {}", build(before)),
            (Some(before), Some(after)) => {
                println!("  ~ {name}: {}\n       now {}", build(before), build(after))
            }
            (None, None) => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}
