//! `gavel._gavel`: the evaluation host as a Python extension module. The
//! Python package `gavel` (python/gavel) is the typed surface over it: it
//! turns DataFrames and dicts into rows and reads results back; everything
//! else (configuration, judges, agents, the run, history, MLflow) is the
//! Rust library, run with the GIL released.

mod agent;
mod metrics;
mod run;

use std::sync::OnceLock;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _gavel,
    GavelError,
    PyException,
    "Something gavel could not do; the message says what, as the command line does."
);
create_exception!(
    _gavel,
    InputError,
    GavelError,
    "Bad input or configuration (a row's field, gavel.toml, a judge name): nothing was evaluated."
);
create_exception!(
    _gavel,
    RunError,
    GavelError,
    "The run could not finish (an endpoint went down, every judgment failed, a file could not be written); finished rows are kept."
);

/// One runtime for every call: its worker threads run the judges.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("gavel")
            .build()
            .expect("the async runtime starts")
    })
}

#[pymodule]
fn _gavel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GavelError", m.py().get_type::<GavelError>())?;
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add("RunError", m.py().get_type::<RunError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(run::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(run::judge, m)?)?;
    metrics::register(m)?;
    Ok(())
}
