//! Who gavel is at a registry: from the environment, else the docker (or
//! podman) login the user already has. Read when needed, never written.

use oci_client::secrets::RegistryAuth;

use super::RegistryError;

/// Username for every registry, with [`PASSWORD_VAR`] (CI secrets).
pub const USERNAME_VAR: &str = "GAVEL_REGISTRY_USERNAME";
pub const PASSWORD_VAR: &str = "GAVEL_REGISTRY_PASSWORD";

/// The credentials for `registry` (`host[:port]`): `GAVEL_REGISTRY_USERNAME`
/// and `GAVEL_REGISTRY_PASSWORD` when both are set; else what `docker login`
/// stored (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, with its
/// credential helpers); else podman's `auth.json`; else anonymous.
pub fn for_registry(registry: &str) -> Result<RegistryAuth, RegistryError> {
    if let (Ok(user), Ok(password)) = (std::env::var(USERNAME_VAR), std::env::var(PASSWORD_VAR)) {
        return Ok(RegistryAuth::Basic(user, password));
    }
    use docker_credential::CredentialRetrievalError as E;
    for lookup in [
        docker_credential::get_credential,
        docker_credential::get_podman_credential,
    ] {
        match lookup(registry) {
            Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
                return Ok(RegistryAuth::Basic(user, password));
            }
            // An identity token is a refresh token for the registry's own
            // OAuth flow, which the OCI client does not speak.
            Ok(docker_credential::DockerCredential::IdentityToken(_)) => {
                tracing::warn!(
                    registry,
                    "the docker login for this registry is an identity token, which gavel cannot use; set {USERNAME_VAR} and {PASSWORD_VAR}"
                );
            }
            // No file or no entry for this registry: try the next place.
            Err(E::ConfigNotFound | E::ConfigReadError | E::NoCredentialConfigured) => {}
            Err(E::HelperFailure { helper, stderr, .. }) => {
                return Err(RegistryError::Credentials {
                    registry: registry.to_owned(),
                    reason: format!(
                        "credential helper docker-credential-{helper} failed: {}",
                        gavel_runtime::text::clean_plugin_text(stderr.trim(), 500)
                    ),
                });
            }
            Err(other) => {
                return Err(RegistryError::Credentials {
                    registry: registry.to_owned(),
                    reason: other.to_string(),
                });
            }
        }
    }
    Ok(RegistryAuth::Anonymous)
}
