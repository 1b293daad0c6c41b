//! A judge's package metadata inside its component: name, version,
//! description, authors, licence, source repository, homepage and revision.
//!
//! Stored the way the component model's tools store it (the `wasm-metadata`
//! crate, which `wasm-tools metadata show/add`, wkg and oci-wasm use): the
//! name in the `component-name` section, the rest in the custom sections
//! `version`, `description`, `authors`, `licenses` (an SPDX expression),
//! `source`, `homepage` and `revision` of the outermost component. So a
//! component `gavel build` made shows its metadata in those tools, and
//! gavel reads what they wrote. The same fields are the OCI annotations a
//! registry shows ([`JudgeMetadata::annotations`]).
//!
//! This is package metadata, not the judge's own `describe()`: the two may
//! differ (a crate at 0.1.0 whose judge says 1.0.0), and readers show both.

use std::collections::BTreeMap;
use std::fmt;

use gavel_runtime::text::{MAX_MESSAGE_BYTES, clean_plugin_text};
use wasm_metadata::{
    AddMetadata, AddMetadataField, Authors, Description, Homepage, Licenses, Payload, Revision,
    Source, Version,
};

/// A judge's package metadata. Every field is optional: a component built
/// elsewhere may carry none of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JudgeMetadata {
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Free text, conventionally `Name <email>` entries joined by `, `.
    pub authors: Option<String>,
    /// An SPDX licence expression (`MIT`, `Apache-2.0 OR MIT`).
    pub license: Option<String>,
    /// The URL of the source code.
    pub source: Option<String>,
    /// The URL of the judge's home page or documentation.
    pub homepage: Option<String>,
    /// The source control revision it was built from.
    pub revision: Option<String>,
}

/// One field of [`JudgeMetadata`], for errors that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Name,
    Version,
    Description,
    Authors,
    License,
    Source,
    Homepage,
    Revision,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Name,
        Field::Version,
        Field::Description,
        Field::Authors,
        Field::License,
        Field::Source,
        Field::Homepage,
        Field::Revision,
    ];

    /// The field's name in [`JudgeMetadata`] (and in `gavel judges inspect
    /// --json`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Version => "version",
            Field::Description => "description",
            Field::Authors => "authors",
            Field::License => "license",
            Field::Source => "source",
            Field::Homepage => "homepage",
            Field::Revision => "revision",
        }
    }

    /// The OCI image annotation that carries the field.
    pub fn annotation(self) -> &'static str {
        match self {
            Field::Name => "org.opencontainers.image.title",
            Field::Version => "org.opencontainers.image.version",
            Field::Description => "org.opencontainers.image.description",
            Field::Authors => "org.opencontainers.image.authors",
            Field::License => "org.opencontainers.image.licenses",
            Field::Source => "org.opencontainers.image.source",
            Field::Homepage => "org.opencontainers.image.url",
            Field::Revision => "org.opencontainers.image.revision",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The bytes are not a WebAssembly component (or module), or one of its
    /// metadata sections breaks the conventions (a `licenses` section that
    /// is not SPDX). The text is cleaned: it may quote the section.
    #[error("cannot read the component's metadata: {0}")]
    Read(String),
    /// A value the conventions do not allow.
    #[error("{field}: {reason}")]
    Invalid { field: Field, reason: String },
    #[error("cannot write the metadata into the component: {0}")]
    Write(String),
}

impl JudgeMetadata {
    /// The metadata of the outermost component (or module) in `component`,
    /// each text cleaned and bounded as plugin text is: it comes from
    /// whoever built the file and goes to terminals and registries.
    pub fn read(component: &[u8]) -> Result<JudgeMetadata, MetadataError> {
        let payload = Payload::from_binary(component).map_err(|error| {
            MetadataError::Read(clean_plugin_text(&format!("{error:#}"), MAX_MESSAGE_BYTES))
        })?;
        let found = payload.metadata();
        let text =
            |value: Option<String>| value.map(|value| clean_plugin_text(&value, MAX_MESSAGE_BYTES));
        Ok(JudgeMetadata {
            name: text(found.name.clone()),
            version: text(found.version.as_ref().map(ToString::to_string)),
            description: text(found.description.as_ref().map(ToString::to_string)),
            authors: text(found.authors.as_ref().map(ToString::to_string)),
            license: text(found.licenses.as_ref().map(ToString::to_string)),
            source: text(found.source.as_ref().map(ToString::to_string)),
            homepage: text(found.homepage.as_ref().map(ToString::to_string)),
            revision: text(found.revision.as_ref().map(ToString::to_string)),
        })
    }

    /// Checks what the conventions require of the values: the licence an
    /// SPDX expression, the source and homepage URLs. [`Self::embed`]
    /// checks the same; calling this first lets a build fail before it
    /// spends its time.
    pub fn validate(&self) -> Result<(), MetadataError> {
        self.to_add().map(drop)
    }

    /// `component` with this metadata in its outermost component: the
    /// fields that are set replace what it had, those that are not leave it
    /// as it is, and everything else (code, nested modules' sections, other
    /// custom sections) is kept byte for byte. gavel is added to the
    /// producers section's `processed-by`, as other tools that rewrite a
    /// component add themselves.
    pub fn embed(&self, component: &[u8]) -> Result<Vec<u8>, MetadataError> {
        let add = self.to_add()?;
        let write = |error: anyhow::Error| MetadataError::Write(format!("{error:#}"));
        // wasm-metadata 0.258 keeps a section it is asked to set and appends
        // the new one after it: two `licenses` sections, of which tools read
        // the last. So the sections to be set are cleared first.
        let mut clear = AddMetadata::default();
        fn cleared<T: fmt::Debug + Clone>(field: &AddMetadataField<T>) -> AddMetadataField<T> {
            match field {
                AddMetadataField::Set(_) => AddMetadataField::Clear,
                _ => AddMetadataField::Keep,
            }
        }
        clear.version = cleared(&add.version);
        clear.description = cleared(&add.description);
        clear.authors = cleared(&add.authors);
        clear.licenses = cleared(&add.licenses);
        clear.source = cleared(&add.source);
        clear.homepage = cleared(&add.homepage);
        clear.revision = cleared(&add.revision);
        let cleared = clear.to_wasm(component).map_err(write)?;
        add.to_wasm(&cleared).map_err(write)
    }

    /// The OCI image annotations of the fields that are set
    /// (`org.opencontainers.image.title`, `.version`, ...; the homepage is
    /// `.url`).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        Field::ALL
            .into_iter()
            .filter_map(|field| {
                let value = self.get(field)?;
                Some((field.annotation().to_owned(), value.to_owned()))
            })
            .collect()
    }

    /// The value of `field`, if set.
    pub fn get(&self, field: Field) -> Option<&str> {
        match field {
            Field::Name => &self.name,
            Field::Version => &self.version,
            Field::Description => &self.description,
            Field::Authors => &self.authors,
            Field::License => &self.license,
            Field::Source => &self.source,
            Field::Homepage => &self.homepage,
            Field::Revision => &self.revision,
        }
        .as_deref()
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        Field::ALL
            .into_iter()
            .all(|field| self.get(field).is_none())
    }

    fn to_add(&self) -> Result<AddMetadata, MetadataError> {
        fn set<T: fmt::Debug + Clone>(
            value: &Option<String>,
            make: impl FnOnce(&str) -> Result<T, MetadataError>,
        ) -> Result<AddMetadataField<T>, MetadataError> {
            Ok(match value {
                Some(value) => AddMetadataField::Set(make(value)?),
                None => AddMetadataField::Keep,
            })
        }
        let mut add = AddMetadata::default();
        add.name = set(&self.name, |name| Ok(name.to_owned()))?;
        add.version = set(&self.version, |v| Ok(Version::new(v.to_owned())))?;
        add.description = set(&self.description, |d| Ok(Description::new(d.to_owned())))?;
        add.authors = set(&self.authors, |a| Ok(Authors::new(a.to_owned())))?;
        add.licenses = set(&self.license, |license| {
            Licenses::new(license).map_err(|error| MetadataError::Invalid {
                field: Field::License,
                reason: format!(
                    "`{license}` is not an SPDX licence expression (such as `MIT` or \
                     `Apache-2.0 OR MIT`; see https://spdx.org/licenses/):\n{error:#}"
                ),
            })
        })?;
        add.source = set(&self.source, |url| {
            Source::new(url).map_err(|error| not_a_url(Field::Source, url, error))
        })?;
        add.homepage = set(&self.homepage, |url| {
            Homepage::new(url).map_err(|error| not_a_url(Field::Homepage, url, error))
        })?;
        add.revision = set(&self.revision, |r| Ok(Revision::new(r.to_owned())))?;
        add.processed_by = vec![("gavel".to_owned(), env!("CARGO_PKG_VERSION").to_owned())];
        Ok(add)
    }
}

fn not_a_url(field: Field, value: &str, error: anyhow::Error) -> MetadataError {
    MetadataError::Invalid {
        field,
        reason: format!("`{value}` is not an absolute URL ({error:#})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component: the preamble, no sections.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";
    const EMPTY_MODULE: &[u8] = b"\0asm\x01\x00\x00\x00";

    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A section of kind `id` with `contents`.
    fn section(id: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![id];
        leb(contents.len(), &mut out);
        out.extend_from_slice(contents);
        out
    }

    fn custom(name: &str, data: &[u8]) -> Vec<u8> {
        let mut contents = Vec::new();
        leb(name.len(), &mut contents);
        contents.extend_from_slice(name.as_bytes());
        contents.extend_from_slice(data);
        section(0, &contents)
    }

    /// A component with a nested core module (which has its own
    /// `description` section) and a custom section of another tool's: what
    /// embedding must leave alone.
    fn component_with_a_module() -> Vec<u8> {
        let mut module = EMPTY_MODULE.to_vec();
        module.extend(custom("description", b"the inner module's"));
        let mut component = EMPTY_COMPONENT.to_vec();
        // Section 1 of a component: a core module.
        component.extend(section(1, &module));
        component.extend(custom("other-tool", b"kept"));
        component
    }

    fn full() -> JudgeMetadata {
        JudgeMetadata {
            name: Some("tone".into()),
            version: Some("0.2.0".into()),
            description: Some("Whether the tone fits.\nTwo lines.".into()),
            authors: Some("Ada <ada@example.com>, Grace".into()),
            license: Some("Apache-2.0 OR MIT".into()),
            source: Some("https://example.com/tone".into()),
            homepage: Some("https://example.com/docs/tone".into()),
            revision: Some("0123abc".into()),
        }
    }

    #[test]
    fn metadata_round_trips_and_leaves_the_rest_of_the_component() {
        let original = component_with_a_module();
        let embedded = full().embed(&original).unwrap();
        assert_eq!(JudgeMetadata::read(&embedded).unwrap(), full());

        // The nested module keeps its own section, the other tool's section
        // stays, and gavel is named in the producers section.
        let Payload::Component { metadata, children } = Payload::from_binary(&embedded).unwrap()
        else {
            panic!("a component")
        };
        assert_eq!(children.len(), 1);
        assert_eq!(
            children[0]
                .metadata()
                .description
                .as_ref()
                .unwrap()
                .to_string(),
            "the inner module's"
        );
        let producers = metadata.producers.expect("a producers section");
        assert!(
            producers
                .get("processed-by")
                .expect("processed-by")
                .get("gavel")
                .is_some()
        );
        let other = custom("other-tool", b"kept");
        assert!(embedded.windows(other.len()).any(|w| w == other));

        // Embedding again replaces what is set and keeps what is not.
        let again = JudgeMetadata {
            version: Some("0.3.0".into()),
            ..JudgeMetadata::default()
        }
        .embed(&embedded)
        .unwrap();
        assert_eq!(
            JudgeMetadata::read(&again).unwrap(),
            JudgeMetadata {
                version: Some("0.3.0".into()),
                ..full()
            }
        );
        // A section is replaced, not added to.
        let count = |bytes: &[u8], name: &str| {
            let needle = custom(name, b"")[2..].to_vec();
            bytes.windows(needle.len()).filter(|w| *w == needle).count()
        };
        assert_eq!(count(&again, "version"), 1);
        let twice = full().embed(&embedded).unwrap();
        assert_eq!(JudgeMetadata::read(&twice).unwrap(), full());
        for name in [
            "component-name",
            "producers",
            "authors",
            "licenses",
            "source",
        ] {
            assert_eq!(count(&twice, name), 1, "{name}");
        }
        // Ours and the nested module's.
        assert_eq!(count(&twice, "description"), 2);
    }

    #[test]
    fn a_component_without_metadata_reads_as_empty() {
        for bytes in [EMPTY_COMPONENT.to_vec(), component_with_a_module()] {
            let read = JudgeMetadata::read(&bytes).unwrap();
            assert!(read.is_empty(), "{read:?}");
            assert!(read.annotations().is_empty());
        }
        assert!(matches!(
            JudgeMetadata::read(b"not wasm"),
            Err(MetadataError::Read(_))
        ));
    }

    #[test]
    fn hostile_values_come_back_cleaned_and_bounded() {
        let huge = "x".repeat(1 << 20);
        let escapes = "\u{1b}[2J\u{1b}]0;pwned\u{7}name\r\u{202e}";
        let hostile = JudgeMetadata {
            name: Some(escapes.into()),
            description: Some(huge.clone()),
            authors: Some(format!("{escapes}{huge}")),
            version: Some("1.0\u{0}".into()),
            ..JudgeMetadata::default()
        };
        let read = JudgeMetadata::read(&hostile.embed(EMPTY_COMPONENT).unwrap()).unwrap();
        for field in Field::ALL {
            if let Some(value) = read.get(field) {
                assert!(gavel_runtime::text::is_clean(value), "{field}: {value:?}");
                assert!(value.len() < MAX_MESSAGE_BYTES + 40, "{field}");
            }
        }
        assert_eq!(
            read.name.as_deref(),
            Some("\u{fffd}[2J\u{fffd}]0;pwned\u{fffd}name\u{fffd}\u{fffd}")
        );
        assert_eq!(read.version.as_deref(), Some("1.0\u{fffd}"));
        assert!(
            read.description
                .unwrap()
                .ends_with(&format!("({} bytes cut)", (1 << 20) - MAX_MESSAGE_BYTES))
        );

        // A section another tool wrote against the conventions is an error,
        // and the error (which quotes it) is cleaned and bounded too.
        let mut bad = EMPTY_COMPONENT.to_vec();
        bad.extend(custom("licenses", format!("\u{1b}[31m{huge}").as_bytes()));
        let MetadataError::Read(message) = JudgeMetadata::read(&bad).unwrap_err() else {
            panic!("a read error")
        };
        assert!(gavel_runtime::text::is_clean(&message));
        assert!(message.len() < MAX_MESSAGE_BYTES + 40);
    }

    #[test]
    fn licences_must_be_spdx_and_links_urls() {
        for good in [
            "MIT",
            "Apache-2.0 OR MIT",
            "Apache-2.0 WITH LLVM-exception",
            "LicenseRef-Mine",
        ] {
            let metadata = JudgeMetadata {
                license: Some(good.into()),
                ..JudgeMetadata::default()
            };
            assert!(metadata.validate().is_ok(), "{good}");
        }
        for bad in ["Apache 2", "MIT/Apache-2.0", "GPL", "", "Proprietary"] {
            let metadata = JudgeMetadata {
                license: Some(bad.into()),
                ..JudgeMetadata::default()
            };
            let error = metadata.embed(EMPTY_COMPONENT).unwrap_err();
            let MetadataError::Invalid { field, reason } = &error else {
                panic!("{bad}: {error}")
            };
            assert_eq!(*field, Field::License);
            assert!(
                reason.contains(&format!("`{bad}` is not an SPDX licence expression")),
                "{reason}"
            );
        }
        for (field, metadata) in [
            (
                Field::Source,
                JudgeMetadata {
                    source: Some("github.com/me/tone".into()),
                    ..JudgeMetadata::default()
                },
            ),
            (
                Field::Homepage,
                JudgeMetadata {
                    homepage: Some("not a url".into()),
                    ..JudgeMetadata::default()
                },
            ),
        ] {
            match metadata.validate() {
                Err(MetadataError::Invalid {
                    field: found,
                    reason,
                }) => {
                    assert_eq!(found, field);
                    assert!(reason.contains("is not an absolute URL"), "{reason}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn annotations_name_the_set_fields_by_the_oci_keys() {
        let annotations = full().annotations();
        assert_eq!(annotations.len(), 8);
        assert_eq!(annotations["org.opencontainers.image.title"], "tone");
        assert_eq!(
            annotations["org.opencontainers.image.licenses"],
            "Apache-2.0 OR MIT"
        );
        assert_eq!(
            annotations["org.opencontainers.image.url"],
            "https://example.com/docs/tone"
        );
        let some = JudgeMetadata {
            version: Some("1.0.0".into()),
            ..JudgeMetadata::default()
        };
        assert_eq!(
            some.annotations().into_iter().collect::<Vec<_>>(),
            [(
                "org.opencontainers.image.version".to_owned(),
                "1.0.0".to_owned()
            )]
        );
    }
}
