//! `wit-cache`: the dependency cache of the wit CI system, as a library so that the binary,
//! the fuzz targets and the benchmarks share one implementation.
//!
//! The binary (`main.rs`) only parses, runs and maps the outcome to an exit code; the work
//! lives in [`commands`], the on-disk store in [`store`], and every exit code is chosen in
//! [`error`].

pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod docs;
pub mod error;
pub mod hash_files;
pub mod keys;
pub mod output;
pub mod paths;
pub mod request;
pub mod serve;
pub mod signing;
pub mod store;
pub mod units;
pub mod views;
