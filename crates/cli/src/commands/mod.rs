//! One module per subcommand, plus what the swarm-joining commands share.

mod create;
mod get;
mod private;
mod seed;
mod send;
mod swarm;

use crate::args::{Cli, Command};
use std::process::ExitCode;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Create(args) => create::run(args),
        Command::Seed(args) => seed::run(args, quiet).await,
        Command::Get(args) => get::run(args, quiet).await,
        Command::Send(args) => send::run(args, quiet).await,
    }
}
