//! `lode`: the command-line front end. `lode serve` runs the Redis-protocol server once the
//! server lands; until then it says so and exits.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Lode: a persistent key-value store with a Redis-compatible server.
#[derive(Debug, Parser)]
#[command(name = "lode", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Redis-protocol server (not available yet: see the README's status).
    Serve {
        /// TCP port to listen on.
        #[arg(long, default_value_t = 6379)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// Data directory.
        #[arg(long, default_value = "./lode-data")]
        dir: PathBuf,
    },
}

fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { port, bind, dir } => {
            eprintln!(
                "lode serve: not yet. The Redis-protocol server is the next milestone; it would \
                 listen on {bind}:{port} with data in {}.\nThe storage engine is ready to embed: \
                 see crates/lode and the README.",
                dir.display()
            );
            Ok(ExitCode::from(2))
        }
    }
}
