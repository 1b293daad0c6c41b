//! Writing judges: `gavel new` scaffolds a judge project in one of the
//! supported languages, `gavel build` turns it into a component.
//!
//! Each language is one module with the same three parts: the SDK files
//! gavel carries for it (written into its cache directory, so a project
//! never depends on where gavel's sources are), the files of a new project,
//! and how to build one. The tools a language needs are installed on first
//! use, at pinned versions, under the cache directory (see [`tools`]); what
//! cannot be installed that way (a C compiler) is named in the error.
//!
//! A build writes the package metadata the project's manifest declares
//! (`manifest`) into the component it made, where `gavel judges
//! inspect`, wasm-tools and registries read it ([`crate::metadata`]).

mod c;
mod js;
mod manifest;
mod python;
mod rust;
pub mod tools;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tools::Tools;

/// The WIT package, embedded so that every SDK builds against the WIT this
/// gavel hosts.
const WIT_FILES: &[(&str, &str)] = &[
    ("wit/world.wit", include_str!("../../../wit/world.wit")),
    ("wit/types.wit", include_str!("../../../wit/types.wit")),
    ("wit/judge.wit", include_str!("../../../wit/judge.wit")),
    ("wit/llm.wit", include_str!("../../../wit/llm.wit")),
    ("wit/ask.wit", include_str!("../../../wit/ask.wit")),
    ("wit/prompt.wit", include_str!("../../../wit/prompt.wit")),
    ("wit/log.wit", include_str!("../../../wit/log.wit")),
    ("wit/metric.wit", include_str!("../../../wit/metric.wit")),
];

/// A language judges can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    C,
}

impl Language {
    pub const ALL: [Language; 4] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::C,
    ];

    /// The name `--lang` takes.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "js",
            Language::C => "c",
        }
    }

    /// The language of the project in `dir`, told by the file its
    /// scaffold writes (`Cargo.toml`, `judge.py`, `judge.js`, `judge.c`).
    pub fn of_project(dir: &Path) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| dir.join(language.marker()).is_file())
    }

    fn marker(self) -> &'static str {
        match self {
            Language::Rust => "Cargo.toml",
            Language::Python => "judge.py",
            Language::JavaScript => "judge.js",
            Language::C => "judge.c",
        }
    }

    fn sdk_files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Language::Rust => rust::SDK_FILES,
            Language::Python => python::SDK_FILES,
            Language::JavaScript => js::SDK_FILES,
            Language::C => c::SDK_FILES,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "rust" => Ok(Language::Rust),
            "python" | "py" => Ok(Language::Python),
            "js" | "javascript" => Ok(Language::JavaScript),
            "c" => Ok(Language::C),
            other => Err(format!(
                "unknown language '{other}': expected rust, python, js or c"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    #[error(
        "invalid judge name '{0}': use lowercase letters, digits and `_`, starting with a letter"
    )]
    InvalidName(String),
    #[error("{0} already exists; choose another directory")]
    Exists(PathBuf),
    #[error(
        "{0} is not a judge project: it has none of Cargo.toml, judge.py, judge.js, judge.c (create one with `gavel new judge NAME --lang rust|python|js|c`)"
    )]
    NotAProject(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A tool the language needs is missing and gavel cannot install it.
    #[error("building a {language} judge needs {what}: {how}")]
    MissingTool {
        language: Language,
        what: String,
        how: String,
    },
    /// The project's manifest has a value that cannot go into the
    /// component's metadata (`what` names the key), or does not parse.
    #[error("{}: {what}", path.display())]
    Manifest { path: PathBuf, what: String },
    /// A tool ran and failed: its name, and what it printed.
    #[error("{step} failed:\n{output}")]
    Failed { step: String, output: String },
}

impl AuthoringError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuthoringError + '_ {
        move |source| AuthoringError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// A file of a new project: its path inside the project, and its contents.
pub struct ProjectFile {
    pub path: &'static str,
    pub contents: String,
}

/// The test row every new project carries, in the evaluation-set format
/// (`gavel judge --plugin NAME.wasm --row row.json`).
const TEST_ROW: &str = r#"{
  "request": "What is the capital of France?",
  "response": "Paris is the capital of France."
}
"#;

/// Writes a new judge project named `name` into `dir` (which must not
/// exist) and returns the paths written.
pub fn new_judge(
    name: &str,
    language: Language,
    dir: &Path,
    tools: &Tools,
) -> Result<Vec<PathBuf>, AuthoringError> {
    check_name(name)?;
    if dir.exists() {
        return Err(AuthoringError::Exists(dir.to_owned()));
    }
    // A Rust project names the SDK by path, so it must exist first.
    let sdk = write_sdk(language, tools)?;
    let mut files = match language {
        Language::Rust => rust::scaffold(name, &sdk),
        Language::Python => python::scaffold(name),
        Language::JavaScript => js::scaffold(name),
        Language::C => c::scaffold(name),
    };
    files.push(ProjectFile {
        path: "row.json",
        contents: TEST_ROW.to_owned(),
    });
    let mut written = Vec::new();
    for file in files {
        let path = dir.join(file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(AuthoringError::io(parent))?;
        }
        fs::write(&path, file.contents).map_err(AuthoringError::io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// What one build needs to know. A language's build returns the component
/// it made; [`build`] writes the metadata into it and puts it in place.
pub struct BuildContext<'a> {
    /// The project directory.
    pub dir: &'a Path,
    /// The root of the SDK files gavel wrote into its cache: `wit/` and
    /// `sdk/<language>/` below it, laid out as in gavel's repository.
    pub sdk: &'a Path,
    pub tools: &'a Tools,
}

/// Builds the judge project in `dir` into a component at `out` (by default
/// `DIR/<directory name>.wasm`) and returns the component's path.
pub fn build(dir: &Path, out: Option<&Path>, tools: &Tools) -> Result<PathBuf, AuthoringError> {
    let dir = fs::canonicalize(dir).map_err(AuthoringError::io(dir))?;
    let language =
        Language::of_project(&dir).ok_or_else(|| AuthoringError::NotAProject(dir.clone()))?;
    let out = match out {
        Some(out) => std::path::absolute(out).map_err(AuthoringError::io(out))?,
        None => default_output(&dir),
    };
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).map_err(AuthoringError::io(parent))?;
    }
    // Read before building, so that a bad manifest value does not wait
    // for a build that can take a minute.
    let metadata = manifest::read(language, &dir)?;
    let sdk = write_sdk(language, tools)?;
    let context = BuildContext {
        dir: &dir,
        sdk: &sdk,
        tools,
    };
    let component = match language {
        Language::Rust => rust::build(&context)?,
        Language::Python => python::build(&context)?,
        Language::JavaScript => js::build(&context)?,
        Language::C => c::build(&context)?,
    };
    let component = metadata
        .embed(&component)
        .map_err(|error| AuthoringError::Failed {
            step: "writing the metadata into the component".to_owned(),
            output: error.to_string(),
        })?;
    write_in_place(&out, &component)?;
    Ok(out)
}

/// Writes `bytes` to `path` through a file next to it renamed into place,
/// so that a failed build never leaves a truncated component where the
/// last good one was.
fn write_in_place(path: &Path, bytes: &[u8]) -> Result<(), AuthoringError> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if let Err(error) = fs::write(&partial, bytes) {
        let _ = fs::remove_file(&partial);
        return Err(AuthoringError::io(&partial)(error));
    }
    fs::rename(&partial, path).map_err(AuthoringError::io(path))
}

/// Writes the WIT and `language`'s SDK files under the cache directory
/// (once per gavel version and content) and returns their root.
pub fn write_sdk(language: Language, tools: &Tools) -> Result<PathBuf, AuthoringError> {
    let files: Vec<(&str, &str)> = WIT_FILES
        .iter()
        .chain(language.sdk_files())
        .copied()
        .collect();
    let root = tools.sdk_dir(&files);
    for (path, contents) in files {
        let path = root.join(path);
        if fs::read_to_string(&path).is_ok_and(|existing| existing == contents) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(AuthoringError::io(parent))?;
        }
        fs::write(&path, contents).map_err(AuthoringError::io(&path))?;
    }
    Ok(root)
}

fn check_name(name: &str) -> Result<(), AuthoringError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64;
    if valid {
        Ok(())
    } else {
        Err(AuthoringError::InvalidName(name.to_owned()))
    }
}

/// Where `gavel build` writes the component of the project in `dir` when
/// not told: `DIR/<directory name>.wasm`, `-` read as `_` (`my-judge` ->
/// `my_judge.wasm`).
pub fn default_output(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().replace('-', "_"))
        .unwrap_or_else(|| "judge".to_owned());
    dir.join(format!("{name}.wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge_names_follow_the_output_column_rule() {
        for good in ["conciseness", "tone2", "my_judge"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Tone", "2tone", "my-judge", "a b", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn languages_parse_by_their_names() {
        for language in Language::ALL {
            assert_eq!(language.name().parse::<Language>(), Ok(language));
        }
        assert!("go".parse::<Language>().is_err());
    }
}
