//! One module per subcommand, plus what the swarm-joining commands share.

pub mod client;
mod create;
pub mod daemon;
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
        Command::Daemon(args) => daemon::run(args, quiet).await,
        Command::Add(args) => client::add(args).await,
        Command::List(args) => client::list(args).await,
        Command::Info(args) => client::info(args).await,
        Command::Pause(args) => client::pause(args).await,
        Command::Resume(args) => client::resume(args).await,
        Command::Rm(args) => client::rm(args).await,
        Command::Limit(args) => client::limit(args).await,
    }
}
