//! C judges: `judge.c` (and the project's other `.c` files) on the C SDK
//! (`gavel.h`, `gavel.c`), compiled by clang for `wasm32-wasi` as a
//! reactor against bindings that wit-bindgen's C generator writes
//! in-process, then made a component in-process by wit-component with the
//! WASI preview1 reactor adapter. The compiler, linker, WASI libc and
//! compiler-rt come from the system (or a wasi-sdk): gavel cannot install
//! them, so their absence is an error that says how to get them.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

use super::tools::run;
use super::{AuthoringError, BuildContext, Language, ProjectFile};

/// The SDK gavel carries: compiled into every C judge, next to the
/// generated bindings.
pub(super) const SDK_FILES: &[(&str, &str)] = &[
    ("sdk/c/gavel.h", include_str!("../../../sdk/c/gavel.h")),
    ("sdk/c/gavel.c", include_str!("../../../sdk/c/gavel.c")),
];

/// The world the bindings are generated for, which names them too
/// (`plugin.h`, `plugin.c`, `plugin_component_type.o`).
const WORLD: &str = "plugin";

const TARGET: &str = "wasm32-wasi";

/// The files of a new project.
pub(super) fn scaffold(name: &str) -> Vec<ProjectFile> {
    vec![
        ProjectFile {
            path: "judge.c",
            contents: include_str!("../../../sdk/c/template/judge.c").replace("__NAME__", name),
        },
        ProjectFile {
            path: "judge.toml",
            contents: include_str!("../../../sdk/c/template/judge.toml").replace("__NAME__", name),
        },
        ProjectFile {
            path: ".gitignore",
            contents: "*.wasm\n".to_owned(),
        },
    ]
}

pub(super) fn build(context: &BuildContext) -> Result<Vec<u8>, AuthoringError> {
    let toolchain = Toolchain::find()?;
    let scratch = context.tools.build_dir(context.dir);
    let bindings = scratch.join("bindings");
    generate_bindings(&context.sdk.join("wit"), &bindings)?;

    let sdk = context.sdk.join("sdk/c");
    let core = scratch.join("judge.core.wasm");
    let mut clang = toolchain.command();
    clang
        .args(["-mexec-model=reactor", "-O2", "-Wall"])
        // The name section stays, so that a crash names its function.
        .arg("-Wl,--strip-debug")
        .arg("-I")
        .arg(context.dir)
        .arg("-I")
        .arg(&sdk)
        .arg("-I")
        .arg(&bindings)
        .args(sources(context.dir)?)
        .arg(sdk.join("gavel.c"))
        .arg(bindings.join(format!("{WORLD}.c")))
        .arg(bindings.join(format!("{WORLD}_component_type.o")))
        .arg("-o")
        .arg(&core);
    let output = run("clang", &mut clang)?;
    let warnings = String::from_utf8_lossy(&output.stderr);
    if !warnings.trim().is_empty() {
        tracing::warn!("clang: {}", warnings.trim_end());
    }

    let module = fs::read(&core).map_err(AuthoringError::io(&core))?;
    componentize(&module).map_err(|error| AuthoringError::Failed {
        step: "making the component".to_owned(),
        output: format!("{error:#}"),
    })
}

/// The project's `.c` files (not those of subdirectories), in name order.
fn sources(dir: &Path) -> Result<Vec<PathBuf>, AuthoringError> {
    let mut sources = Vec::new();
    for entry in fs::read_dir(dir).map_err(AuthoringError::io(dir))? {
        let path = entry.map_err(AuthoringError::io(dir))?.path();
        if path.extension().is_some_and(|e| e == "c") && path.is_file() {
            sources.push(path);
        }
    }
    sources.sort();
    Ok(sources)
}

/// Writes the C bindings of world `plugin` of the WIT in `wit` into `out`
/// (rewriting only what changed).
fn generate_bindings(wit: &Path, out: &Path) -> Result<(), AuthoringError> {
    let failed = |error: anyhow::Error| AuthoringError::Failed {
        step: "generating the C bindings".to_owned(),
        output: format!("{error:#}"),
    };
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_path(wit).map_err(failed)?;
    let world = resolve
        .select_world(&[package], Some(WORLD))
        .map_err(failed)?;
    // `Files` is wit-bindgen-core's, which gavel does not name: its type
    // comes from `generate`.
    let mut files = Default::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .map_err(failed)?;
    fs::create_dir_all(out).map_err(AuthoringError::io(out))?;
    for (name, contents) in files.iter() {
        let path = out.join(name);
        if fs::read(&path).is_ok_and(|existing| existing == contents) {
            continue;
        }
        fs::write(&path, contents).map_err(AuthoringError::io(&path))?;
    }
    Ok(())
}

/// The core module as a component; its WASI preview1 imports go through
/// the reactor adapter to WASI 0.2.
fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(module)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
}

/// Environment variables that point at a wasi-sdk, or at a WASI sysroot
/// for the system's clang.
const WASI_SDK_PATH: &str = "WASI_SDK_PATH";
const WASI_SYSROOT: &str = "WASI_SYSROOT";

/// Where distributions put the WASI sysroot when clang does not find it by
/// itself (Debian's clang does: /usr/lib/wasm32-wasi, /usr/include/wasm32-wasi).
const SYSROOTS: &[&str] = &[
    "/usr/share/wasi-sysroot",
    "/opt/homebrew/share/wasi-sysroot",
    "/usr/local/share/wasi-sysroot",
];

/// A clang that can compile and link for `wasm32-wasi`.
struct Toolchain {
    clang: OsString,
    sysroot: Option<PathBuf>,
    /// `$WASI_SDK_PATH`, when set.
    wasi_sdk: Option<PathBuf>,
}

impl Toolchain {
    /// The wasi-sdk in `$WASI_SDK_PATH`, or the system's clang (with the
    /// sysroot in `$WASI_SYSROOT` or a usual place), checked for each part
    /// a build needs.
    fn find() -> Result<Toolchain, AuthoringError> {
        let wasi_sdk = std::env::var_os(WASI_SDK_PATH).map(PathBuf::from);
        let clang = match &wasi_sdk {
            Some(sdk) => sdk.join("bin/clang").into_os_string(),
            None => "clang".into(),
        };
        let sysroot = std::env::var_os(WASI_SYSROOT)
            .map(PathBuf::from)
            .or_else(|| wasi_sdk.as_ref().map(|sdk| sdk.join("share/wasi-sysroot")))
            .or_else(|| SYSROOTS.iter().map(PathBuf::from).find(|dir| dir.is_dir()));
        let toolchain = Toolchain {
            clang,
            sysroot,
            wasi_sdk,
        };
        toolchain.check()?;
        Ok(toolchain)
    }

    /// clang for the target, with the sysroot.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.clang);
        command.arg(format!("--target={TARGET}"));
        if let Some(sysroot) = &self.sysroot {
            command.arg("--sysroot").arg(sysroot);
        }
        command
    }

    /// What clang prints for `args`, if it runs.
    fn print(&self, args: &[&str]) -> Option<String> {
        let output = self.command().args(args).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// clang answers `-print-*` questions with a full path when it finds
    /// the file, and with the bare name (or a path that does not exist)
    /// when it does not.
    fn finds(&self, args: &[&str]) -> bool {
        self.print(args)
            .is_some_and(|path| Path::new(&path).is_absolute() && Path::new(&path).is_file())
    }

    fn check(&self) -> Result<(), AuthoringError> {
        let Some(version) = self.print(&["--version"]) else {
            return Err(self.missing(
                &format!("clang (`{}` does not run)", self.clang.to_string_lossy()),
                "install clang, lld and the WASI libc: on Debian and Ubuntu \
                 `apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32` \
                 (with clang 15 or later, libclang-rt-<version>-dev-wasm32)",
            ));
        };
        let major = clang_major(&version);
        let compiler_rt = format!(
            "libclang-rt-{}-dev-wasm32",
            major.as_deref().unwrap_or("<version>")
        );
        let lld = match &major {
            Some(major) => format!("`apt-get install lld` (lld-{major} if lld is another version)"),
            None => "`apt-get install lld`".to_owned(),
        };
        if !self.finds(&["-print-prog-name=wasm-ld"]) {
            return Err(self.missing(
                "wasm-ld, LLVM's WebAssembly linker",
                &format!("on Debian and Ubuntu {lld}"),
            ));
        }
        if !self.finds(&["-print-file-name=libc.a"]) {
            return Err(self.missing(
                "the WASI libc",
                &format!(
                    "on Debian and Ubuntu `apt-get install wasi-libc`; elsewhere set \
                     {WASI_SYSROOT} to a WASI sysroot"
                ),
            ));
        }
        if !self.finds(&["--rtlib=compiler-rt", "-print-libgcc-file-name"]) {
            return Err(self.missing(
                "compiler-rt's builtins for wasm32 (libclang_rt.builtins-wasm32.a)",
                &format!("on Debian and Ubuntu `apt-get install {compiler_rt}`"),
            ));
        }
        Ok(())
    }

    fn missing(&self, what: &str, how: &str) -> AuthoringError {
        let how = match &self.wasi_sdk {
            Some(sdk) => format!(
                "{WASI_SDK_PATH} is {}, which should be a wasi-sdk \
                 (https://github.com/WebAssembly/wasi-sdk) with bin/clang and \
                 share/wasi-sysroot; or unset it and use the system's clang: {how}",
                sdk.display()
            ),
            None => format!(
                "{how}; or install wasi-sdk (https://github.com/WebAssembly/wasi-sdk) \
                 and set {WASI_SDK_PATH} to where it is"
            ),
        };
        AuthoringError::MissingTool {
            language: Language::C,
            what: what.to_owned(),
            how,
        }
    }
}

/// `14` from `Debian clang version 14.0.6`.
fn clang_major(version: &str) -> Option<String> {
    let rest = &version[version.find("clang version ")? + "clang version ".len()..];
    let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty()).then_some(major)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clang_versions_give_their_major() {
        assert_eq!(
            clang_major("Debian clang version 14.0.6\nTarget: x86_64-pc-linux-gnu").as_deref(),
            Some("14")
        );
        assert_eq!(
            clang_major("clang version 19.1.5-wasi-sdk (https://github.com/llvm/llvm-project)")
                .as_deref(),
            Some("19")
        );
        assert_eq!(clang_major("gcc (Debian 12.2.0-14) 12.2.0"), None);
    }

    #[test]
    fn the_template_names_the_judge() {
        let files = scaffold("tone");
        let judge = files.iter().find(|f| f.path == "judge.c").expect("judge.c");
        assert!(judge.contents.contains("d->name = \"tone\";"));
        assert!(!judge.contents.contains("__NAME__"));
    }
}
