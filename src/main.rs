//! `porta`: the command line of the Porta client portal.
//!
//! `main` only parses arguments and dispatches; the commands live in the
//! `porta` library (`src/lib.rs`), the work in the library crates.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = porta::cli::Cli::parse();
    match porta::commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
