//! Sharing judges through OCI registries: references
//! (`oci://HOST[:PORT]/NAMESPACE/NAME:TAG`), pushing and pulling in the CNCF
//! Wasm artifact layout, a content-addressed store of what was pulled, and
//! `gavel.lock`.
//!
//! A component is only ever stored or loaded after its bytes matched the
//! digests that named them; nothing here writes credentials anywhere.

mod client;
pub mod credentials;
pub mod lock;
mod reference;
mod store;

pub use client::{Artifact, Pulled, Pushed, Registry, WASM_CONFIG, WASM_LAYER};
pub use lock::{LockError, LockedJudge, Lockfile};
pub use reference::{JudgeRef, ReferenceError, SCHEME, is_sha256_digest};
pub use store::{Store, Stored};

/// Why a registry operation failed, in the user's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {registry} cannot be reached: {reason}")]
    Unreachable { registry: String, reason: String },
    #[error("{reference} does not exist in the registry (no such repository, tag or digest)")]
    NotFound { reference: String },
    #[error(
        "registry {registry} refused the credentials ({reason}); log in with `docker login {registry}` or set GAVEL_REGISTRY_USERNAME and GAVEL_REGISTRY_PASSWORD"
    )]
    AuthRefused { registry: String, reason: String },
    #[error("cannot get credentials for registry {registry}: {reason}")]
    Credentials { registry: String, reason: String },
    #[error(
        "{reference}: the content is not what its digest says (expected {expected}, got {actual}); it was refused and not loaded"
    )]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{reference} is not a judge component: it has {found}, where a judge is one application/wasm layer"
    )]
    NotWasm { reference: String, found: String },
    #[error(
        "{reference} is {size} bytes, over the limit of {max} bytes on a plugin's size; it was not downloaded"
    )]
    TooLarge {
        reference: String,
        size: u64,
        max: u64,
    },
    #[error("the judge store in the cache directory: {0}")]
    Store(String),
    #[error("{0}")]
    Other(String),
}

/// Where a fetched component came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Downloaded now.
    Registry,
    /// Pulled before, by digest: no registry needed.
    Store,
    /// The registry could not be reached to resolve a tag; the digest the
    /// tag named when last resolved was used, from the store.
    StoreWhileUnreachable { reason: String },
}

/// A component a reference named, checked and in the store.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The reference pinned to the manifest digest (tag kept, if any).
    pub reference: JudgeRef,
    /// The manifest digest.
    pub digest: String,
    /// Hex SHA-256 of the component.
    pub sha256: String,
    pub wasm: Vec<u8>,
    pub origin: Origin,
}

/// Whether a tag may be answered from the store when its registry cannot be
/// reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// A run: a judge pulled before keeps working offline.
    StoreIfUnreachable,
    /// `gavel lock` and `gavel judges pull`: what the tag names now, or an
    /// error.
    RegistryOnly,
}

/// The component `reference` names: by digest from the store when it was
/// pulled before, else from the registry (then kept in the store).
pub async fn fetch(
    registry: &Registry,
    store: &Store,
    reference: &JudgeRef,
    resolve: Resolve,
) -> Result<Fetched, RegistryError> {
    let (digest, offline) = match reference.digest() {
        Some(digest) => (digest.to_owned(), None),
        None => match registry.resolve(reference).await {
            Ok(digest) => {
                store
                    .set_tag(reference, &digest)
                    .map_err(|e| RegistryError::Store(e.to_string()))?;
                (digest, None)
            }
            Err(RegistryError::Unreachable { reason, .. })
                if resolve == Resolve::StoreIfUnreachable
                    && let Some(digest) = store.tag(reference) =>
            {
                (digest, Some(reason))
            }
            Err(e) => return Err(e),
        },
    };
    let pinned = reference.with_digest(&digest);
    if let Some(stored) = store.get(&digest) {
        return Ok(Fetched {
            reference: pinned,
            digest,
            sha256: stored.sha256,
            wasm: stored.wasm,
            origin: match offline {
                Some(reason) => Origin::StoreWhileUnreachable { reason },
                None => Origin::Store,
            },
        });
    }
    let pulled = registry.pull(&reference.pinned(&digest)).await?;
    store
        .put(&pulled.digest, &pulled.sha256, &pulled.wasm)
        .map_err(|e| RegistryError::Store(e.to_string()))?;
    Ok(Fetched {
        reference: pinned,
        digest: pulled.digest,
        sha256: pulled.sha256,
        wasm: pulled.wasm,
        origin: Origin::Registry,
    })
}

pub(crate) use gavel_runtime::digest::sha256_hex;
