//! Messages for the host's log, tagged with the judge's name. The host caps
//! how much one evaluation may log.

use crate::bindings::gavel::judge::log::{Level, log};

pub fn debug(message: &str) {
    log(Level::Debug, message);
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, message);
}

pub fn error(message: &str) {
    log(Level::Error, message);
}
