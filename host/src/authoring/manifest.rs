//! The package metadata a judge project declares in its own manifest, which
//! `gavel build` writes into the component ([`JudgeMetadata`]): Rust's
//! `Cargo.toml` `[package]`, Python's `pyproject.toml` `[project]`,
//! JavaScript's `package.json`, and for C, which has no manifest of its own,
//! `judge.toml` `[judge]`.
//!
//! A value that cannot go into the component (a licence that is not an SPDX
//! expression, a repository that is not a URL, a number where text belongs)
//! stops the build with the file and the key: metadata that silently went
//! missing would only be noticed in a registry. A project without the
//! manifest (a Python or C project made before gavel wrote one) builds
//! without metadata. Empty strings count as unset (`npm init` writes
//! `"author": ""`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use toml::Value as Toml;

use super::{AuthoringError, Language};
use crate::metadata::{Field, JudgeMetadata, MetadataError};

/// The manifest of a `language` project, inside the project.
fn file_name(language: Language) -> &'static str {
    match language {
        Language::Rust => "Cargo.toml",
        Language::Python => "pyproject.toml",
        Language::JavaScript => "package.json",
        Language::C => "judge.toml",
    }
}

/// The metadata the project in `dir` declares, checked against the
/// conventions (so that a bad value fails before the build spends its
/// time).
pub(super) fn read(language: Language, dir: &Path) -> Result<JudgeMetadata, AuthoringError> {
    let path = dir.join(file_name(language));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        // Rust's manifest is the project's marker; the others are optional.
        Err(error)
            if error.kind() == std::io::ErrorKind::NotFound && language != Language::Rust =>
        {
            return Ok(JudgeMetadata::default());
        }
        Err(error) => return Err(AuthoringError::io(&path)(error)),
    };
    let mut declared = Declared::new(&path);
    match language {
        Language::Rust => cargo(&text, &mut declared)?,
        Language::Python => pyproject(&text, &mut declared)?,
        Language::JavaScript => package_json(&text, &mut declared)?,
        Language::C => judge_toml(&text, &mut declared)?,
    }
    declared.finish()
}

/// The metadata read so far, and the manifest key each field came from
/// (for errors).
struct Declared<'a> {
    path: &'a Path,
    metadata: JudgeMetadata,
    keys: BTreeMap<Field, String>,
}

impl<'a> Declared<'a> {
    fn new(path: &'a Path) -> Self {
        Declared {
            path,
            metadata: JudgeMetadata::default(),
            keys: BTreeMap::new(),
        }
    }

    fn error(&self, key: &str, what: impl std::fmt::Display) -> AuthoringError {
        AuthoringError::Manifest {
            path: self.path.to_owned(),
            what: format!("{key}: {what}"),
        }
    }

    fn syntax(&self, format: &str, error: impl std::fmt::Display) -> AuthoringError {
        AuthoringError::Manifest {
            path: self.path.to_owned(),
            what: format!("not valid {format}: {error}"),
        }
    }

    /// Sets `field` from `key`, unless `value` is empty.
    fn set(&mut self, field: Field, key: impl Into<String>, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let slot = match field {
            Field::Name => &mut self.metadata.name,
            Field::Version => &mut self.metadata.version,
            Field::Description => &mut self.metadata.description,
            Field::Authors => &mut self.metadata.authors,
            Field::License => &mut self.metadata.license,
            Field::Source => &mut self.metadata.source,
            Field::Homepage => &mut self.metadata.homepage,
            Field::Revision => &mut self.metadata.revision,
        };
        *slot = Some(value.to_owned());
        self.keys.insert(field, key.into());
    }

    fn finish(self) -> Result<JudgeMetadata, AuthoringError> {
        match self.metadata.validate() {
            Ok(()) => Ok(self.metadata),
            Err(MetadataError::Invalid { field, reason }) => {
                let key = self.keys.get(&field).map_or(field.name(), String::as_str);
                Err(self.error(key, reason))
            }
            Err(other) => Err(self.error("metadata", other)),
        }
    }
}

/// `Cargo.toml`: `[package]` name, version, description, authors, license,
/// repository (the source) and homepage; `{ workspace = true }` values
/// from the workspace's `[workspace.package]`.
fn cargo(text: &str, declared: &mut Declared) -> Result<(), AuthoringError> {
    let manifest: toml::Table = toml::from_str(text).map_err(|e| declared.syntax("TOML", e))?;
    let Some(package) = manifest.get("package").and_then(Toml::as_table) else {
        return Err(declared.error("package", "missing: `gavel build` builds a crate"));
    };
    let mut workspace = None;
    for (key, field) in [
        ("name", Field::Name),
        ("version", Field::Version),
        ("description", Field::Description),
        ("authors", Field::Authors),
        ("license", Field::License),
        ("repository", Field::Source),
        ("homepage", Field::Homepage),
    ] {
        let Some(value) = package.get(key) else {
            continue;
        };
        let short = key;
        let mut key = format!("package.{key}");
        let value = if is_inherited(value) {
            if workspace.is_none() {
                workspace = Some(workspace_package(declared.path, &key, &manifest, package)?);
            }
            let (root, inherited) = workspace.as_ref().expect("just read");
            key = format!("{key} (from [workspace.package] in {})", root.display());
            match inherited.get(short) {
                Some(value) => value.clone(),
                None => {
                    return Err(declared.error(
                        &key,
                        "`workspace = true`, but the workspace does not set it",
                    ));
                }
            }
        } else {
            value.clone()
        };
        let text = if field == Field::Authors {
            toml_strings(&value).map(|authors| authors.join(", "))
        } else {
            value.as_str().map(str::to_owned)
        };
        let text = text.ok_or_else(|| {
            declared.error(
                &key,
                if field == Field::Authors {
                    "expected an array of strings"
                } else {
                    "expected a string"
                },
            )
        })?;
        declared.set(field, key, &text);
    }
    Ok(())
}

/// `{ workspace = true }`, as `license.workspace = true` also reads.
fn is_inherited(value: &Toml) -> bool {
    value
        .as_table()
        .and_then(|table| table.get("workspace"))
        .and_then(Toml::as_bool)
        == Some(true)
}

/// The workspace root's manifest path and its `[workspace.package]`, found
/// as cargo finds it: the manifest itself when it has `[workspace]`, else
/// `package.workspace`, else the nearest manifest above with `[workspace]`.
fn workspace_package(
    path: &Path,
    key: &str,
    manifest: &toml::Table,
    package: &toml::Table,
) -> Result<(PathBuf, toml::Table), AuthoringError> {
    let not_found = |what: String| AuthoringError::Manifest {
        path: path.to_owned(),
        what: format!("{key}: `workspace = true`, but {what}"),
    };
    let package_of = |root: &Path, manifest: &toml::Table| {
        let table = manifest
            .get("workspace")
            .and_then(|w| w.get("package"))
            .and_then(Toml::as_table)
            .cloned()
            .unwrap_or_default();
        (root.to_owned(), table)
    };
    if manifest.contains_key("workspace") {
        return Ok(package_of(path, manifest));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let read = |candidate: &Path| -> Result<Option<toml::Table>, AuthoringError> {
        match std::fs::read_to_string(candidate) {
            Ok(text) => toml::from_str::<toml::Table>(&text).map(Some).map_err(|e| {
                AuthoringError::Manifest {
                    path: candidate.to_owned(),
                    what: format!("not valid TOML: {e}"),
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AuthoringError::io(candidate)(e)),
        }
    };
    if let Some(root) = package.get("workspace").and_then(Toml::as_str) {
        let candidate = dir.join(root).join("Cargo.toml");
        return match read(&candidate)? {
            Some(root) if root.contains_key("workspace") => Ok(package_of(&candidate, &root)),
            _ => Err(not_found(format!(
                "package.workspace names {}, which has no [workspace]",
                candidate.display()
            ))),
        };
    }
    for ancestor in dir.ancestors().skip(1) {
        let candidate = ancestor.join("Cargo.toml");
        if let Some(root) = read(&candidate)?
            && root.contains_key("workspace")
        {
            return Ok(package_of(&candidate, &root));
        }
    }
    Err(not_found(format!(
        "no Cargo.toml above {} has a [workspace]",
        dir.display()
    )))
}

fn toml_strings(value: &Toml) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

/// `pyproject.toml` (PEP 621): `[project]` name, version, description,
/// authors (`{name, email}` tables), license (an SPDX string, or the older
/// `{ text = ... }`), and from `[project.urls]` the source (`Source`,
/// `Source Code`, `Repository`, `Code`) and homepage (`Homepage`, `Home`,
/// `Documentation` when there is no homepage). No `[project]` (a
/// pyproject.toml only for tools' settings): no metadata.
fn pyproject(text: &str, declared: &mut Declared) -> Result<(), AuthoringError> {
    let manifest: toml::Table = toml::from_str(text).map_err(|e| declared.syntax("TOML", e))?;
    let Some(project) = manifest.get("project") else {
        return Ok(());
    };
    let Some(project) = project.as_table() else {
        return Err(declared.error("project", "expected a table"));
    };
    for (key, field) in [
        ("name", Field::Name),
        ("version", Field::Version),
        ("description", Field::Description),
    ] {
        if let Some(value) = project.get(key) {
            let key = format!("project.{key}");
            let text = value
                .as_str()
                .ok_or_else(|| declared.error(&key, "expected a string"))?;
            declared.set(field, key, text);
        }
    }
    match project.get("license") {
        None => {}
        Some(Toml::String(license)) => declared.set(Field::License, "project.license", license),
        Some(Toml::Table(table)) if table.contains_key("text") => {
            let text = table
                .get("text")
                .and_then(Toml::as_str)
                .ok_or_else(|| declared.error("project.license.text", "expected a string"))?;
            declared.set(Field::License, "project.license.text", text);
        }
        Some(Toml::Table(table)) if table.contains_key("file") => {
            return Err(declared.error(
                "project.license.file",
                "a licence file cannot go into the component's metadata, which takes an SPDX \
                 expression: write it as `license = \"MIT\"` (PEP 639)",
            ));
        }
        Some(_) => {
            return Err(declared.error(
                "project.license",
                "expected an SPDX expression string, such as `license = \"MIT\"`",
            ));
        }
    }
    if let Some(authors) = project.get("authors") {
        let people = authors
            .as_array()
            .and_then(|authors| {
                authors
                    .iter()
                    .map(person_of_table)
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                declared.error(
                    "project.authors",
                    "expected an array of tables with a name and/or an email, such as \
                     `[{ name = \"Ada\", email = \"ada@example.com\" }]`",
                )
            })?;
        declared.set(Field::Authors, "project.authors", &people.join(", "));
    }
    if let Some(urls) = project.get("urls") {
        let urls = urls
            .as_table()
            .ok_or_else(|| declared.error("project.urls", "expected a table"))?;
        // Labels compare as PEP 753 normalises them: lowercase, without
        // punctuation or spaces ("Source Code" is "sourcecode").
        let mut found: BTreeMap<&str, (String, &str)> = BTreeMap::new();
        for (label, url) in urls {
            let normal: String = label
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            let role = match normal.as_str() {
                "source" | "sourcecode" | "repository" | "code" => "source",
                "homepage" | "home" => "homepage",
                "documentation" | "docs" => "documentation",
                _ => continue,
            };
            let key = format!("project.urls.{label}");
            let url = url
                .as_str()
                .ok_or_else(|| declared.error(&key, "expected a string"))?;
            found.entry(role).or_insert((key, url));
        }
        if let Some((key, url)) = found.remove("source") {
            declared.set(Field::Source, key, url);
        }
        if let Some((key, url)) = found
            .remove("homepage")
            .or_else(|| found.remove("documentation"))
        {
            declared.set(Field::Homepage, key, url);
        }
    }
    Ok(())
}

/// `Name <email>`, `Name` or `email` from a PEP 621 author table.
fn person_of_table(author: &Toml) -> Option<String> {
    let table = author.as_table()?;
    let part = |key: &str| -> Option<Option<&str>> {
        match table.get(key) {
            None => Some(None),
            Some(value) => Some(Some(value.as_str()?)),
        }
    };
    Some(match (part("name")?, part("email")?) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => return None,
    })
}

/// `package.json`: name, version, description, author and contributors
/// (strings, or `{name, email, url}` objects), license (an SPDX
/// expression), repository (a URL, npm's `github:user/repo` or
/// `user/repo` shorthand, or `{ url }`) and homepage.
fn package_json(text: &str, declared: &mut Declared) -> Result<(), AuthoringError> {
    let manifest: Json = serde_json::from_str(text).map_err(|e| declared.syntax("JSON", e))?;
    let Some(manifest) = manifest.as_object() else {
        return Err(declared.syntax("package.json", "expected an object"));
    };
    for (key, field) in [
        ("name", Field::Name),
        ("version", Field::Version),
        ("description", Field::Description),
        ("license", Field::License),
        ("homepage", Field::Homepage),
    ] {
        if let Some(value) = manifest.get(key) {
            let text = value
                .as_str()
                .ok_or_else(|| declared.error(key, "expected a string"))?;
            declared.set(field, key, text);
        }
    }
    let mut people = Vec::new();
    if let Some(author) = manifest.get("author") {
        people.push(person_of_json(author).ok_or_else(|| {
            declared.error(
                "author",
                "expected a string or an object with a name, such as \
                 `{ \"name\": \"Ada\", \"email\": \"ada@example.com\" }`",
            )
        })?);
    }
    if let Some(contributors) = manifest.get("contributors") {
        let more = contributors
            .as_array()
            .and_then(|list| list.iter().map(person_of_json).collect::<Option<Vec<_>>>())
            .ok_or_else(|| {
                declared.error(
                    "contributors",
                    "expected an array of strings or objects with a name",
                )
            })?;
        people.extend(more);
    }
    people.retain(|person| !person.is_empty());
    if !people.is_empty() {
        let key = if manifest.contains_key("author") {
            "author"
        } else {
            "contributors"
        };
        declared.set(Field::Authors, key, &people.join(", "));
    }
    match manifest.get("repository") {
        None => {}
        Some(Json::String(repository)) => {
            declared.set(Field::Source, "repository", &repository_url(repository))
        }
        Some(Json::Object(repository)) => {
            let url = repository
                .get("url")
                .and_then(Json::as_str)
                .ok_or_else(|| declared.error("repository.url", "expected a string"))?;
            declared.set(Field::Source, "repository.url", &repository_url(url));
        }
        Some(_) => {
            return Err(declared.error(
                "repository",
                "expected a URL string or an object with a `url`",
            ));
        }
    }
    Ok(())
}

/// npm's people: `"Name <email> (url)"` as it is, or an object's name,
/// email and url in that form. An empty string is no one.
fn person_of_json(person: &Json) -> Option<String> {
    match person {
        Json::String(text) => Some(text.trim().to_owned()),
        Json::Object(object) => {
            let part = |key: &str| object.get(key).and_then(Json::as_str).map(str::trim);
            let mut text = part("name")?.to_owned();
            if let Some(email) = part("email").filter(|e| !e.is_empty()) {
                text.push_str(&format!(" <{email}>"));
            }
            if let Some(url) = part("url").filter(|u| !u.is_empty()) {
                text.push_str(&format!(" ({url})"));
            }
            Some(text)
        }
        _ => None,
    }
}

/// npm's repository shorthands as URLs (`github:user/repo`, `user/repo`,
/// `gitlab:`, `bitbucket:`, `gist:`); anything else as it is.
fn repository_url(repository: &str) -> String {
    let repository = repository.trim();
    for (prefix, host) in [
        ("github:", "https://github.com/"),
        ("gitlab:", "https://gitlab.com/"),
        ("bitbucket:", "https://bitbucket.org/"),
        ("gist:", "https://gist.github.com/"),
    ] {
        if let Some(path) = repository.strip_prefix(prefix) {
            return format!("{host}{path}");
        }
    }
    let is_shorthand = !repository.contains(':')
        && repository.matches('/').count() == 1
        && !repository.starts_with('/')
        && !repository.ends_with('/');
    if is_shorthand {
        format!("https://github.com/{repository}")
    } else {
        repository.to_owned()
    }
}

/// `judge.toml`, the C projects' manifest: `[judge]` with name, version,
/// description, authors (strings), license, source and homepage, the
/// names [`JudgeMetadata`] uses. An unknown key is an error, so that a
/// misspelt `licence` does not go missing.
fn judge_toml(text: &str, declared: &mut Declared) -> Result<(), AuthoringError> {
    const KEYS: [(&str, Field); 7] = [
        ("name", Field::Name),
        ("version", Field::Version),
        ("description", Field::Description),
        ("authors", Field::Authors),
        ("license", Field::License),
        ("source", Field::Source),
        ("homepage", Field::Homepage),
    ];
    let manifest: toml::Table = toml::from_str(text).map_err(|e| declared.syntax("TOML", e))?;
    if let Some(key) = manifest.keys().find(|key| *key != "judge") {
        return Err(declared.error(key, "unknown table: the metadata goes under [judge]"));
    }
    let Some(judge) = manifest.get("judge") else {
        return Ok(());
    };
    let Some(judge) = judge.as_table() else {
        return Err(declared.error("judge", "expected a table"));
    };
    for (key, value) in judge {
        let key_path = format!("judge.{key}");
        let Some((_, field)) = KEYS.iter().find(|(name, _)| name == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(name, _)| *name).collect();
            return Err(declared.error(
                &key_path,
                format!("unknown key (known: {})", known.join(", ")),
            ));
        };
        let text = if *field == Field::Authors {
            toml_strings(value)
                .map(|authors| authors.join(", "))
                .ok_or_else(|| declared.error(&key_path, "expected an array of strings"))?
        } else {
            value
                .as_str()
                .ok_or_else(|| declared.error(&key_path, "expected a string"))?
                .to_owned()
        };
        declared.set(*field, key_path, &text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        dir
    }

    fn error(language: Language, dir: &Path) -> String {
        match read(language, dir) {
            Ok(metadata) => panic!("read {metadata:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn every_template_declares_name_version_description_and_license() {
        for language in Language::ALL {
            let files = match language {
                Language::Rust => super::super::rust::scaffold("tone", Path::new("/sdk")),
                Language::Python => super::super::python::scaffold("tone"),
                Language::JavaScript => super::super::js::scaffold("tone"),
                Language::C => super::super::c::scaffold("tone"),
            };
            let dir = tempfile::tempdir().unwrap();
            for file in files {
                let path = dir.path().join(file.path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, file.contents).unwrap();
            }
            let metadata = read(language, dir.path()).unwrap();
            assert_eq!(
                metadata,
                JudgeMetadata {
                    name: Some("tone".into()),
                    version: Some("0.1.0".into()),
                    description: Some(
                        "A gavel judge: whether the response answers the request.".into()
                    ),
                    license: Some("Apache-2.0".into()),
                    ..JudgeMetadata::default()
                },
                "{language}"
            );
        }
    }

    #[test]
    fn cargo_package_fields_map_with_workspace_inheritance() {
        let dir = project(&[
            (
                "Cargo.toml",
                r#"[workspace]
members = ["judge"]
[workspace.package]
license = "MIT OR Apache-2.0"
repository = "https://example.com/judges"
authors = ["Ada <ada@example.com>", "Grace"]
"#,
            ),
            (
                "judge/Cargo.toml",
                r#"[package]
name = "tone"
version = "0.2.0"
description = "Whether the tone fits."
license.workspace = true
repository = { workspace = true }
authors.workspace = true
homepage = "https://example.com/tone"
edition = "2024"
"#,
            ),
        ]);
        let metadata = read(Language::Rust, &dir.path().join("judge")).unwrap();
        assert_eq!(
            metadata,
            JudgeMetadata {
                name: Some("tone".into()),
                version: Some("0.2.0".into()),
                description: Some("Whether the tone fits.".into()),
                authors: Some("Ada <ada@example.com>, Grace".into()),
                license: Some("MIT OR Apache-2.0".into()),
                source: Some("https://example.com/judges".into()),
                homepage: Some("https://example.com/tone".into()),
                revision: None,
            }
        );
    }

    #[test]
    fn the_rust_example_inherits_its_licence_from_gavels_workspace() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/rust-judge");
        let metadata = read(Language::Rust, &example).unwrap();
        assert_eq!(metadata.name.as_deref(), Some("gavel-example-rust-judge"));
        assert_eq!(metadata.license.as_deref(), Some("Apache-2.0"));
    }

    #[test]
    fn cargo_errors_name_the_file_and_the_key() {
        let dir = project(&[(
            "Cargo.toml",
            "[package]\nname = \"tone\"\nlicense = \"Apache 2\"\n",
        )]);
        let message = error(Language::Rust, dir.path());
        assert!(
            message.starts_with(&format!(
                "{}: package.license: `Apache 2` is not an SPDX licence expression",
                dir.path().join("Cargo.toml").display()
            )),
            "{message}"
        );

        let dir = project(&[(
            "Cargo.toml",
            "[package]\nname = \"tone\"\nrepository = \"github.com/me/tone\"\n",
        )]);
        assert!(
            error(Language::Rust, dir.path())
                .contains("package.repository: `github.com/me/tone` is not an absolute URL")
        );

        let dir = project(&[(
            "Cargo.toml",
            "[package]\nname = \"tone\"\nauthors = \"me\"\n",
        )]);
        assert!(
            error(Language::Rust, dir.path())
                .contains("package.authors: expected an array of strings")
        );

        // Inherited from a workspace that does not set it, or from none.
        let dir = project(&[
            ("Cargo.toml", "[workspace]\n"),
            (
                "judge/Cargo.toml",
                "[package]\nname = \"tone\"\nlicense.workspace = true\n",
            ),
        ]);
        let message = error(Language::Rust, &dir.path().join("judge"));
        assert!(
            message.contains("package.license (from [workspace.package] in "),
            "{message}"
        );
        assert!(
            message.ends_with("`workspace = true`, but the workspace does not set it"),
            "{message}"
        );
        let alone = project(&[(
            "Cargo.toml",
            "[package]\nname = \"tone\"\nlicense.workspace = true\n",
        )]);
        let message = error(Language::Rust, alone.path());
        assert!(
            message.contains(
                "Cargo.toml: package.license: `workspace = true`, but no Cargo.toml above"
            ),
            "{message}"
        );
    }

    #[test]
    fn pyproject_fields_map_and_a_missing_one_is_no_metadata() {
        let dir = project(&[(
            "pyproject.toml",
            r#"[project]
name = "tone"
version = "0.2.0"
description = "Whether the tone fits."
license = { text = "MIT" }
authors = [{ name = "Ada", email = "ada@example.com" }, { email = "grace@example.com" }]
[project.urls]
Documentation = "https://example.com/docs"
"Source Code" = "https://example.com/src"
"#,
        )]);
        let metadata = read(Language::Python, dir.path()).unwrap();
        assert_eq!(metadata.name.as_deref(), Some("tone"));
        assert_eq!(metadata.license.as_deref(), Some("MIT"));
        assert_eq!(
            metadata.authors.as_deref(),
            Some("Ada <ada@example.com>, grace@example.com")
        );
        assert_eq!(metadata.source.as_deref(), Some("https://example.com/src"));
        assert_eq!(
            metadata.homepage.as_deref(),
            Some("https://example.com/docs")
        );

        let none = project(&[("judge.py", "")]);
        assert!(read(Language::Python, none.path()).unwrap().is_empty());
        let tools_only = project(&[("pyproject.toml", "[tool.ruff]\nline-length = 100\n")]);
        assert!(
            read(Language::Python, tools_only.path())
                .unwrap()
                .is_empty()
        );

        let file = project(&[(
            "pyproject.toml",
            "[project]\nlicense = { file = \"LICENSE\" }\n",
        )]);
        assert!(
            error(Language::Python, file.path())
                .contains("project.license.file: a licence file cannot")
        );
        let text = project(&[(
            "pyproject.toml",
            "[project]\nlicense = { text = \"MIT License\" }\n",
        )]);
        assert!(
            error(Language::Python, text.path())
                .contains("project.license.text: `MIT License` is not an SPDX")
        );
        let broken = project(&[("pyproject.toml", "[project\n")]);
        assert!(error(Language::Python, broken.path()).contains("pyproject.toml: not valid TOML"));
    }

    #[test]
    fn package_json_fields_map_with_npm_shorthands() {
        let dir = project(&[(
            "package.json",
            r#"{
  "name": "@me/tone", "version": "0.2.0", "description": "",
  "author": { "name": "Ada", "email": "ada@example.com", "url": "https://ada.example.com" },
  "contributors": ["Grace <grace@example.com>", { "name": "Linus" }],
  "license": "ISC",
  "repository": "github:me/tone",
  "homepage": "https://example.com/tone"
}"#,
        )]);
        let metadata = read(Language::JavaScript, dir.path()).unwrap();
        assert_eq!(
            metadata,
            JudgeMetadata {
                name: Some("@me/tone".into()),
                version: Some("0.2.0".into()),
                // Empty: unset.
                description: None,
                authors: Some(
                    "Ada <ada@example.com> (https://ada.example.com), Grace <grace@example.com>, Linus"
                        .into()
                ),
                license: Some("ISC".into()),
                source: Some("https://github.com/me/tone".into()),
                homepage: Some("https://example.com/tone".into()),
                revision: None,
            }
        );
        assert_eq!(repository_url("me/tone"), "https://github.com/me/tone");
        assert_eq!(
            repository_url("git+https://github.com/me/tone.git"),
            "git+https://github.com/me/tone.git"
        );
        let object = project(&[(
            "package.json",
            r#"{"repository": {"type": "git", "url": "https://example.com/x.git"}, "author": ""}"#,
        )]);
        let metadata = read(Language::JavaScript, object.path()).unwrap();
        assert_eq!(
            metadata.source.as_deref(),
            Some("https://example.com/x.git")
        );
        assert_eq!(metadata.authors, None);

        let unlicensed = project(&[("package.json", r#"{"license": "UNLICENSED"}"#)]);
        assert!(
            error(Language::JavaScript, unlicensed.path())
                .contains("license: `UNLICENSED` is not an SPDX")
        );
        let number = project(&[("package.json", r#"{"version": 1}"#)]);
        assert!(
            error(Language::JavaScript, number.path())
                .ends_with("package.json: version: expected a string")
        );
    }

    #[test]
    fn judge_toml_is_the_c_manifest_and_refuses_unknown_keys() {
        let dir = project(&[(
            "judge.toml",
            "[judge]\nname = \"tone\"\nversion = \"0.2.0\"\nauthors = [\"Ada\"]\nlicense = \"MIT\"\nsource = \"https://example.com/tone\"\n",
        )]);
        let metadata = read(Language::C, dir.path()).unwrap();
        assert_eq!(metadata.authors.as_deref(), Some("Ada"));
        assert_eq!(metadata.source.as_deref(), Some("https://example.com/tone"));

        let typo = project(&[("judge.toml", "[judge]\nlicence = \"MIT\"\n")]);
        assert!(
            error(Language::C, typo.path())
                .contains("judge.licence: unknown key (known: name, version,")
        );
        let stray = project(&[("judge.toml", "name = \"tone\"\n")]);
        assert!(
            error(Language::C, stray.path())
                .contains("name: unknown table: the metadata goes under [judge]")
        );
        assert!(read(Language::C, project(&[]).path()).unwrap().is_empty());
    }
}
