//! Pushing and pulling judge components with an OCI registry, in the CNCF
//! Wasm OCI artifact layout that wkg, Spin and oras use: one layer
//! `application/wasm`, a config `application/vnd.wasm.config.v0+json`
//! listing the component's imports and exports.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};

use gavel_runtime::llm::error_chain;

use super::reference::JudgeRef;
use super::{RegistryError, credentials};

/// The layer's media type in the CNCF layout.
pub const WASM_LAYER: &str = "application/wasm";
/// The config's media type in the CNCF layout.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The layer type older tools (wasm-to-oci, oci-client's default) push;
/// accepted when pulling.
const LEGACY_WASM_LAYER: &str = oci_client::manifest::WASM_LAYER_MEDIA_TYPE;

/// A component to push: its bytes and what the registry lists about it.
pub struct Artifact<'a> {
    pub wasm: &'a [u8],
    /// What it imports and exports (`gavel:judge/judge@0.1.1`, ...).
    pub world: &'a gavel_runtime::World,
    /// The fully qualified world it targets (`gavel:judge/plugin@0.1.1`).
    pub target: Option<String>,
    /// Manifest annotations (`org.opencontainers.image.*`).
    pub annotations: BTreeMap<String, String>,
    /// The layer's file name (`tone.wasm`): what `oras pull` writes it as.
    pub file_name: String,
}

/// What a push made.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The manifest digest: what `@sha256:...` names.
    pub digest: String,
    /// The reference pinned to that digest.
    pub reference: JudgeRef,
}

/// A component pulled and checked against its manifest.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The manifest digest.
    pub digest: String,
    /// Hex SHA-256 of the component.
    pub sha256: String,
    pub wasm: Vec<u8>,
}

/// Clients for the registries gavel talks to, one per registry so that a
/// token obtained once is reused.
pub struct Registry {
    clients: Mutex<HashMap<String, Client>>,
    /// Components larger than this are not downloaded.
    max_bytes: u64,
}

impl Registry {
    /// `max_bytes`: the largest component a pull accepts (the host's limit
    /// on a plugin's size), checked before and while downloading.
    pub fn new(max_bytes: u64) -> Registry {
        // oci-client is built without a TLS crypto provider; use ring,
        // which the rest of gavel's HTTPS already uses. Installing twice is
        // harmless (the first wins).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Registry {
            clients: Mutex::new(HashMap::new()),
            max_bytes,
        }
    }

    fn client(&self, reference: &JudgeRef) -> Client {
        let mut clients = self.clients.lock().expect("never poisoned");
        clients
            .entry(reference.registry().to_owned())
            .or_insert_with(|| {
                let protocol = if reference.is_loopback() {
                    ClientProtocol::Http
                } else {
                    ClientProtocol::Https
                };
                Client::new(ClientConfig {
                    protocol,
                    connect_timeout: Some(Duration::from_secs(10)),
                    read_timeout: Some(Duration::from_secs(60)),
                    user_agent: concat!("gavel/", env!("CARGO_PKG_VERSION")),
                    ..ClientConfig::default()
                })
            })
            .clone()
    }

    async fn authenticated(
        &self,
        reference: &JudgeRef,
        operation: RegistryOperation,
    ) -> Result<(Client, RegistryAuth), RegistryError> {
        let client = self.client(reference);
        let auth = credentials::for_registry(reference.registry())?;
        client
            .auth(reference.oci(), &auth, operation)
            .await
            .map_err(|e| error(reference, e))?;
        Ok((client, auth))
    }

    /// Pushes `artifact` as `reference` (a tag, usually).
    pub async fn push(
        &self,
        reference: &JudgeRef,
        artifact: &Artifact<'_>,
    ) -> Result<Pushed, RegistryError> {
        let (client, auth) = self
            .authenticated(reference, RegistryOperation::Push)
            .await?;
        let title = BTreeMap::from([(
            "org.opencontainers.image.title".to_owned(),
            artifact.file_name.clone(),
        )]);
        let layer = ImageLayer::new(artifact.wasm.to_vec(), WASM_LAYER.to_owned(), Some(title));
        let created = created();
        let config = wasm_config(artifact, &layer.sha256_digest(), &created);
        let config = Config::new(config, WASM_CONFIG.to_owned(), None);
        let mut annotations = artifact.annotations.clone();
        annotations
            .entry("org.opencontainers.image.created".to_owned())
            .or_insert_with(|| created.clone());
        let mut manifest =
            OciImageManifest::build(std::slice::from_ref(&layer), &config, Some(annotations));
        manifest.media_type = Some(oci_client::manifest::OCI_IMAGE_MEDIA_TYPE.to_owned());
        client
            .push(reference.oci(), &[layer], config, &auth, Some(manifest))
            .await
            .map_err(|e| error(reference, e))?;
        // The registry's own word on the digest, rather than a hash of how
        // this client happened to serialise the manifest.
        let manifest_digest = client
            .fetch_manifest_digest(reference.oci(), &auth)
            .await
            .map_err(|e| error(reference, e))?;
        Ok(Pushed {
            reference: reference.with_digest(&manifest_digest),
            digest: manifest_digest,
        })
    }

    /// The manifest digest `reference` names now (a tag's current target).
    pub async fn resolve(&self, reference: &JudgeRef) -> Result<String, RegistryError> {
        let (client, auth) = self
            .authenticated(reference, RegistryOperation::Pull)
            .await?;
        client
            .fetch_manifest_digest(reference.oci(), &auth)
            .await
            .map_err(|e| error(reference, e))
    }

    /// Downloads the component `reference` names, refusing anything that is
    /// not one Wasm layer or whose bytes do not match the digests.
    pub async fn pull(&self, reference: &JudgeRef) -> Result<Pulled, RegistryError> {
        let (client, auth) = self
            .authenticated(reference, RegistryOperation::Pull)
            .await?;
        let (manifest, digest, _config) = client
            .pull_manifest_and_config(reference.oci(), &auth)
            .await
            .map_err(|e| error(reference, e))?;
        if let Some(expected) = reference.digest()
            && expected != digest
        {
            return Err(RegistryError::DigestMismatch {
                reference: reference.to_string(),
                expected: expected.to_owned(),
                actual: digest,
            });
        }
        let layer = wasm_layer(reference, &manifest)?;
        let size = u64::try_from(layer.size).unwrap_or(u64::MAX);
        if size > self.max_bytes {
            return Err(RegistryError::TooLarge {
                reference: reference.to_string(),
                size,
                max: self.max_bytes,
            });
        }
        // No more than the manifest declared (itself within the limit).
        let mut out = Capped::new(size);
        client
            .pull_blob(reference.oci(), layer, &mut out)
            .await
            .map_err(|e| error(reference, e))?;
        let wasm = out.buffer;
        let sha256 = super::sha256_hex(&wasm);
        // pull_blob checked the bytes against the layer's digest; checked
        // again here so that the store only ever holds what was named.
        if layer.digest != format!("sha256:{sha256}") {
            return Err(RegistryError::DigestMismatch {
                reference: reference.to_string(),
                expected: layer.digest.clone(),
                actual: format!("sha256:{sha256}"),
            });
        }
        if !wasm.starts_with(b"\0asm") {
            return Err(RegistryError::NotWasm {
                reference: reference.to_string(),
                found: "a layer that is not WebAssembly".to_owned(),
            });
        }
        Ok(Pulled {
            digest,
            sha256,
            wasm,
        })
    }
}

/// The single Wasm layer of a judge's manifest.
fn wasm_layer<'m>(
    reference: &JudgeRef,
    manifest: &'m OciImageManifest,
) -> Result<&'m OciDescriptor, RegistryError> {
    let not_wasm = |found: String| RegistryError::NotWasm {
        reference: reference.to_string(),
        found,
    };
    match manifest.layers.as_slice() {
        [layer] if layer.media_type == WASM_LAYER || layer.media_type == LEGACY_WASM_LAYER => {
            Ok(layer)
        }
        [layer] => Err(not_wasm(format!(
            "a layer of type {} (config {})",
            clean(&layer.media_type),
            clean(&manifest.config.media_type)
        ))),
        layers => Err(not_wasm(format!(
            "{} layers (config {})",
            layers.len(),
            clean(&manifest.config.media_type)
        ))),
    }
}

/// The config blob of the CNCF layout.
fn wasm_config(artifact: &Artifact<'_>, layer_digest: &str, created: &str) -> Vec<u8> {
    let config = serde_json::json!({
        "created": created,
        "author": artifact.annotations.get("org.opencontainers.image.authors"),
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
        "component": {
            "exports": artifact.world.exports,
            "imports": artifact.world.imports,
            "target": artifact.target,
        },
    });
    serde_json::to_vec(&config).expect("a JSON value serialises")
}

/// When the artifact was made: `SOURCE_DATE_EPOCH` when set (so that a
/// reproducible build pushed twice has one digest, as with docker), else now.
fn created() -> String {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|epoch| epoch.trim().parse::<u64>().ok())
        .map(|secs| {
            crate::results::time::utc_timestamp_at(
                std::time::UNIX_EPOCH + Duration::from_secs(secs),
            )
        })
        .unwrap_or_else(crate::results::time::utc_timestamp)
}

/// An OCI client error, said in terms of what the user was doing.
fn error(reference: &JudgeRef, e: OciDistributionError) -> RegistryError {
    let registry = reference.registry().to_owned();
    let not_found = || RegistryError::NotFound {
        reference: reference.to_string(),
    };
    let refused = |reason: String| RegistryError::AuthRefused {
        registry: registry.clone(),
        reason,
    };
    match e {
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
            RegistryError::Unreachable {
                registry,
                reason: clean(&error_chain(&e)),
            }
        }
        OciDistributionError::RequestError(e) => RegistryError::Unreachable {
            registry,
            reason: clean(&error_chain(&e)),
        },
        OciDistributionError::AuthenticationFailure(reason) => refused(clean(&reason)),
        OciDistributionError::UnauthorizedError { .. } => refused("401 Unauthorized".to_owned()),
        OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
        OciDistributionError::ServerError { code: 404, .. } => not_found(),
        OciDistributionError::ServerError { code: 401, .. } => {
            refused("401 Unauthorized".to_owned())
        }
        OciDistributionError::ServerError { code: 403, .. } => refused("403 Forbidden".to_owned()),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                )
            }) {
                not_found()
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                refused(clean(&envelope.to_string()))
            } else {
                RegistryError::Other(format!("{registry}: {}", clean(&envelope.to_string())))
            }
        }
        OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
            expected,
            actual,
        }) => RegistryError::DigestMismatch {
            reference: reference.to_string(),
            expected: clean(&expected),
            actual: clean(&actual),
        },
        OciDistributionError::IncompatibleLayerMediaTypeError(found) => RegistryError::NotWasm {
            reference: reference.to_string(),
            found: format!("a layer of type {}", clean(&found)),
        },
        other => RegistryError::Other(format!("{registry}: {}", clean(&other.to_string()))),
    }
}

/// What a registry said, bounded and cleaned: it reaches a terminal, and a
/// registry is as untrusted as the components it serves.
fn clean(text: &str) -> String {
    gavel_runtime::text::clean_plugin_text(text, 500)
}

/// A buffer that refuses to grow past `max`: a registry cannot make gavel
/// hold more than the plugin size limit, whatever it sends.
struct Capped {
    buffer: Vec<u8>,
    max: u64,
}

impl Capped {
    fn new(max: u64) -> Capped {
        Capped {
            buffer: Vec::new(),
            max,
        }
    }
}

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if (this.buffer.len() + bytes.len()) as u64 > this.max {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("the registry sent more than {} bytes", this.max),
            )));
        }
        this.buffer.extend_from_slice(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
