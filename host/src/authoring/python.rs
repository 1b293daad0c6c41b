//! Python judges: a `judge.py` on the `gavel_judge` package, built into a
//! component by componentize-py (which bundles CPython and the sources).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::tools::{Tools, run};
use super::{AuthoringError, BuildContext, Language, ProjectFile};

/// The `gavel_judge` package as gavel carries it (pip-installable, for
/// editors and unit tests; builds copy its `gavel_judge` directory).
pub(super) const SDK_FILES: &[(&str, &str)] = &[
    (
        "sdk/python/pyproject.toml",
        include_str!("../../../sdk/python/pyproject.toml"),
    ),
    (
        "sdk/python/README.md",
        include_str!("../../../sdk/python/README.md"),
    ),
    (
        "sdk/python/gavel_judge/__init__.py",
        include_str!("../../../sdk/python/gavel_judge/__init__.py"),
    ),
    (
        "sdk/python/gavel_judge/_component.py",
        include_str!("../../../sdk/python/gavel_judge/_component.py"),
    ),
    (
        "sdk/python/gavel_judge/_errors.py",
        include_str!("../../../sdk/python/gavel_judge/_errors.py"),
    ),
    (
        "sdk/python/gavel_judge/_host.py",
        include_str!("../../../sdk/python/gavel_judge/_host.py"),
    ),
    (
        "sdk/python/gavel_judge/_judge.py",
        include_str!("../../../sdk/python/gavel_judge/_judge.py"),
    ),
    (
        "sdk/python/gavel_judge/_model.py",
        include_str!("../../../sdk/python/gavel_judge/_model.py"),
    ),
    (
        "sdk/python/gavel_judge/_wit.py",
        include_str!("../../../sdk/python/gavel_judge/_wit.py"),
    ),
    (
        "sdk/python/gavel_judge/py.typed",
        include_str!("../../../sdk/python/gavel_judge/py.typed"),
    ),
];

/// The componentize-py release builds use; `plugins/examples/python-judge`
/// and the language tests are checked against it.
const COMPONENTIZE_PY: &str = "0.25.1";

/// The module componentize-py builds from: the SDK's entry point, which
/// imports the project's `judge.py` and exports the judge it declares.
const ENTRY: &str = "gavel_judge._component";

/// Where the test images keep wheels for offline installs.
const WHEELS: &str = "/opt/wheels";

pub(super) fn scaffold(name: &str) -> Vec<ProjectFile> {
    let fill = |template: &str| template.replace("__NAME__", name);
    vec![
        ProjectFile {
            path: "judge.py",
            contents: fill(include_str!("../../../sdk/python/template/judge.py")),
        },
        ProjectFile {
            path: "pyproject.toml",
            contents: fill(include_str!("../../../sdk/python/template/pyproject.toml")),
        },
        ProjectFile {
            path: "README.md",
            contents: fill(include_str!("../../../sdk/python/template/README.md")),
        },
        ProjectFile {
            path: ".gitignore",
            contents: "*.wasm\n__pycache__/\n".to_owned(),
        },
    ]
}

pub(super) fn build(context: &BuildContext) -> Result<Vec<u8>, AuthoringError> {
    let componentize_py = componentize_py(context.tools)?;
    let scratch = context.tools.build_dir(context.dir);
    fs::create_dir_all(&scratch).map_err(AuthoringError::io(&scratch))?;
    // Two builds of one project at once would share the scratch copy.
    let lock_path = scratch.join("lock");
    let lock = File::create(&lock_path).map_err(AuthoringError::io(&lock_path))?;
    lock.lock().map_err(AuthoringError::io(&lock_path))?;

    // componentize-py writes __pycache__ next to the sources it imports (and
    // would bundle it into the next build), so it builds from a fresh copy:
    // the project's modules, then the SDK package.
    let app = scratch.join("app");
    if app.exists() {
        fs::remove_dir_all(&app).map_err(AuthoringError::io(&app))?;
    }
    fs::create_dir_all(&app).map_err(AuthoringError::io(&app))?;
    copy_modules(context.dir, &app)?;
    copy_tree(
        &context.sdk.join("sdk/python/gavel_judge"),
        &app.join("gavel_judge"),
    )?;

    let component = scratch.join("judge.wasm");
    let _ = fs::remove_file(&component);
    run(
        "componentize-py",
        Command::new(&componentize_py)
            .current_dir(&app)
            // A virtualenv or path of the caller's would add its packages
            // to the component.
            .env_remove("VIRTUAL_ENV")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            // An error in the judge's module is a Python traceback; a Rust
            // backtrace after it would push it out of the error's tail.
            .env("RUST_LIB_BACKTRACE", "0")
            .arg("-d")
            .arg(context.sdk.join("wit"))
            .args(["-w", "plugin", "componentize", ENTRY, "-p"])
            .arg(&app)
            .arg("-o")
            .arg(&component),
    )?;
    // Read while the lock is held: another build of the project would
    // write the same file.
    fs::read(&component).map_err(AuthoringError::io(&component))
}

/// componentize-py's executable, installed into a venv of its own on first
/// use.
fn componentize_py(tools: &Tools) -> Result<PathBuf, AuthoringError> {
    let venv = tools.installed("componentize-py", COMPONENTIZE_PY, |dir| {
        let python = python()?;
        run(
            "creating a Python venv",
            Command::new(python).args(["-m", "venv"]).arg(dir),
        )?;
        let mut pip = Command::new(venv_program(dir, "python"));
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]);
        if Path::new(WHEELS).is_dir() {
            pip.args(["--find-links", WHEELS]);
        }
        pip.arg(format!("componentize-py=={COMPONENTIZE_PY}"));
        run(
            &format!("installing componentize-py {COMPONENTIZE_PY}"),
            &mut pip,
        )?;
        Ok(())
    })?;
    Ok(venv_program(&venv, "componentize-py"))
}

/// A Python 3 that can make a venv (Debian splits `venv` into its own
/// package, so having `python3` is not enough).
fn python() -> Result<&'static str, AuthoringError> {
    const CHECK: &str = "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))";
    ["python3", "python"]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", CHECK])
                .output()
                .is_ok_and(|output| output.status.success())
        })
        .ok_or_else(|| AuthoringError::MissingTool {
            language: Language::Python,
            what: "Python 3.9 or later with the venv module (to install componentize-py)".into(),
            how: "install it from https://www.python.org/downloads/ or your package manager \
                  (on Debian and Ubuntu: `apt install python3 python3-venv`), so that \
                  `python3 -m venv` works"
                .into(),
        })
}

fn venv_program(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// Copies the project's Python modules into `to`: the `.py` files at its
/// top and its packages (directories with an `__init__.py`). Anything else
/// (components, venvs, test data) stays out of the component.
fn copy_modules(from: &Path, to: &Path) -> Result<(), AuthoringError> {
    for entry in fs::read_dir(from).map_err(AuthoringError::io(from))? {
        let entry = entry.map_err(AuthoringError::io(from))?;
        let path = entry.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "py") {
            let target = to.join(entry.file_name());
            fs::copy(&path, &target).map_err(AuthoringError::io(&path))?;
        } else if path.is_dir() && path.join("__init__.py").is_file() && !skipped(&path) {
            copy_tree(&path, &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Copies the directory `from` to `to`, less bytecode caches and hidden
/// entries.
fn copy_tree(from: &Path, to: &Path) -> Result<(), AuthoringError> {
    fs::create_dir_all(to).map_err(AuthoringError::io(to))?;
    for entry in fs::read_dir(from).map_err(AuthoringError::io(from))? {
        let entry = entry.map_err(AuthoringError::io(from))?;
        let path = entry.path();
        if skipped(&path) {
            continue;
        }
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            fs::copy(&path, &target).map_err(AuthoringError::io(&path))?;
        }
    }
    Ok(())
}

fn skipped(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name == "__pycache__" || name.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scaffold_names_the_judge_and_uses_no_placeholder() {
        let files = scaffold("tone");
        let judge = files.iter().find(|f| f.path == "judge.py").unwrap();
        assert!(judge.contents.contains(r#"name="tone""#));
        assert!(files.iter().all(|f| !f.contents.contains("__NAME__")));
    }

    #[test]
    fn builds_copy_modules_and_packages_only() {
        let project = tempfile::tempdir().unwrap();
        let p = project.path();
        fs::write(p.join("judge.py"), "").unwrap();
        fs::write(p.join("helpers.py"), "").unwrap();
        fs::write(p.join("judge.wasm"), "").unwrap();
        fs::create_dir_all(p.join("pkg/__pycache__")).unwrap();
        fs::write(p.join("pkg/__init__.py"), "").unwrap();
        fs::write(p.join("pkg/data.txt"), "").unwrap();
        fs::write(p.join("pkg/__pycache__/x.pyc"), "").unwrap();
        fs::create_dir_all(p.join("venv/lib")).unwrap();
        fs::write(p.join("venv/lib/site.py"), "").unwrap();

        let app = tempfile::tempdir().unwrap();
        copy_modules(p, app.path()).unwrap();
        let mut copied: Vec<String> = walk(app.path(), app.path());
        copied.sort();
        assert_eq!(
            copied,
            ["helpers.py", "judge.py", "pkg/__init__.py", "pkg/data.txt"]
        );
    }

    fn walk(root: &Path, dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(walk(root, &path));
            } else {
                let relative = path.strip_prefix(root).unwrap();
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
        found
    }
}
