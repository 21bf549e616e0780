//! `porta`: the command line of the Porta client portal.
//!
//! `main` only parses arguments, loads configuration, sets up logging and
//! dispatches; the work lives in the library crates.

mod cli;
mod commands;
mod demo;
mod telemetry;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
