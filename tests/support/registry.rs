//! A real OCI registry on 127.0.0.1: Debian's `docker-registry` (the CNCF
//! distribution registry), with its own storage, optionally behind
//! htpasswd basic auth. Stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestRegistry {
    child: Option<Child>,
    pub port: u16,
    /// The registry's storage root.
    pub data: PathBuf,
    dir: tempfile::TempDir,
}

impl TestRegistry {
    /// Starts a registry; with `auth`, only that user and password get in.
    pub async fn start(auth: Option<(&str, &str)>) -> TestRegistry {
        let binary = "/usr/bin/docker-registry";
        assert!(
            std::path::Path::new(binary).exists(),
            "{binary} is missing: install Debian's docker-registry package (tests/run does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = super::free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            data.display()
        );
        if let Some((user, password)) = auth {
            let output = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("htpasswd (Debian's apache2-utils; tests/run installs it)");
            assert!(output.status.success());
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, output.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: gavel-tests\n    path: {}\n",
                file.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = TestRegistry {
            child: Some(child),
            port,
            data,
            dir,
        };
        registry.wait_until_up().await;
        registry
    }

    async fn wait_until_up(&self) {
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{}/v2/", self.port);
        loop {
            // 200 without auth, 401 with: either way it answers.
            if let Ok(response) = reqwest::get(&url).await
                && (response.status().is_success() || response.status().as_u16() == 401)
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "docker-registry did not answer on {url} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `oci://127.0.0.1:PORT/<path>`.
    pub fn reference(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.host())
    }

    /// Where the registry keeps the blob `digest` (`sha256:...`).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.data
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// A scratch directory that lives as long as the registry.
    pub fn scratch(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
