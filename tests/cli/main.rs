//! The one integration-test binary: every test runs the real `wit-cache` binary against a
//! real store (an `SQLite` file and archives) in a fresh temp directory.

mod util;

mod cas;
mod config;
mod docs;
mod extraction;
mod faults;
mod hash_files;
mod hostile;
mod lines;
mod manage;
mod misses;
mod output;
mod recipes;
mod remote;
mod restore;
mod run;
mod save;
mod security;
mod serve;
mod trust;
mod workflow;
