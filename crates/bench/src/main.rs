//! `shoal-bench`: the performance benchmark of issue 3 (shoal against libtorrent).
//!
//! `shoal-bench all` generates a random payload on tmpfs, runs B1-B6 with real `shoal`
//! and libtorrent processes on 127.0.0.1, prints the machine, then a table of figures,
//! references, ratios and targets. The exit code is 0 even when targets are missed (it is a
//! report), 1 when a transfer failed or delivered wrong bytes, 130 when interrupted.
//! See `runs.rs` and `swarm.rs` for how each figure is measured.

mod cli;
mod data;
mod machine;
mod peers;
mod procs;
mod report;
mod runs;
mod swarm;
mod wrap;

use clap::Parser;
use cli::{Cli, Command, Opts};
use runs::Which;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (which, opts): (Which, Opts) = match cli.command {
        Command::Exec(args) => {
            return match wrap::run(args) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("shoal-bench exec: {e:#}");
                    ExitCode::from(125)
                }
            };
        }
        Command::All(o) => (Which::All, o),
        Command::B1(o) => (Which::B1, o),
        Command::B2(o) => (Which::B2, o),
        Command::B3(o) => (Which::B3, o),
        Command::B4(o) => (Which::B4, o),
        Command::B5(o) => (Which::B5, o),
        Command::B6(o) => (Which::B6, o),
        Command::Smoke(o) => (Which::Smoke, o),
    };
    if let Err(e) = procs::install_interrupt_handler() {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    print!("{}", machine::summary());
    let _ = peers::ENCRYPTION.set(opts.encryption.clone());
    match runs::run(which, opts) {
        Ok(results) => {
            println!();
            print!("{}", report::table(&results));
            println!("load average at end: {}", machine::load_average());
            for n in &results.notes {
                println!("note: {n}");
            }
            if results.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                println!();
                for e in &results.errors {
                    println!("ERROR {e}");
                }
                ExitCode::FAILURE
            }
        }
        Err(e) if e.is::<procs::Interrupted>() => {
            eprintln!("interrupted; children stopped and work directory removed");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
