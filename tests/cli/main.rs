//! The command-line tests: the real `tp-invite` binary, run in a temporary folder.
//!
//! One crate, so the suite compiles once; one module per area.

mod support;

mod commands;
mod dry_run;
mod face;
mod hardening;
mod layouts;
mod ledger;
mod links;
mod probe;
mod products;
mod selection;
mod send;
