//! A judge's options, typed.

use serde::de::DeserializeOwned;

use crate::{JudgeConfig, JudgeError};

impl JudgeConfig {
    /// The judge's options (`config = { ... }` under its table in
    /// gavel.toml) as `T`. Give `T` `#[serde(default)]` so that options a
    /// user leaves out take their defaults; options that do not fit `T` are
    /// an invalid configuration, reported with the reason.
    pub fn options<T: DeserializeOwned>(&self) -> Result<T, JudgeError> {
        serde_json::from_str(&self.options)
            .map_err(|error| JudgeError::InvalidConfig(format!("options: {error}")))
    }
}
