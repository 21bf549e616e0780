//! `porta-bench`: what `bench/run` needs that no packaged tool does.
//!
//! - `seed-certs`: stores N certificates (one P-256 key, N self-signed
//!   leaves) in the edge's store in one transaction, and writes their names;
//! - `tls`: a TLS load generator that opens a new connection per request,
//!   with the server name drawn at random from a file (h2load and wrk use
//!   one name per run), from many loopback source addresses;
//! - `first-handshake`: waits for the first successful handshake (start-up
//!   time);
//! - `seed-otts` and `exchange`: one-time tokens issued in bulk, then each
//!   exchanged once as the handoff page does;
//! - `seed-tickets`: N tickets of one client company, and a session;
//! - `bare-proxy`: Pingora and rustls alone, the peer of the edge's proxy
//!   figures.

mod bare;
mod load;
mod ott;
mod portal;
mod seed;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Store N certificates for h<i>.<suffix> (i from 0) and write the names.
    SeedCerts {
        /// The edge's configuration (database and master key).
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value = "certs.localhost")]
        suffix: String,
        /// Where the names go, one a line.
        #[arg(long)]
        names: PathBuf,
    },
    /// New TLS connection per request, SNI drawn at random from `names`.
    Tls(load::TlsArgs),
    /// Issues N one-time tokens for a custom domain (and its tenant).
    SeedOtts(ott::SeedArgs),
    /// Exchanges the seeded tokens, each once, each on a new connection.
    Exchange(ott::ExchangeArgs),
    /// Stores N tickets for a client company and prints a session cookie.
    SeedTickets(portal::SeedArgs),
    /// Pingora and rustls alone, proxying to one upstream (until killed).
    BareProxy(bare::BareArgs),
    /// Polls until a handshake succeeds; prints the milliseconds waited.
    FirstHandshake {
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 60)]
        timeout_seconds: u64,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        // Pingora starts its own runtimes.
        Command::BareProxy(args) => bare::run(args),
        command => tokio::runtime::Runtime::new()?.block_on(run(command)),
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::SeedCerts {
            config,
            count,
            suffix,
            names,
        } => seed::certs(&config, count, &suffix, &names).await,
        Command::Tls(args) => load::run(args).await,
        Command::SeedOtts(args) => ott::seed(args).await,
        Command::SeedTickets(args) => portal::seed(args).await,
        Command::Exchange(args) => ott::exchange(args).await,
        Command::FirstHandshake {
            addr,
            name,
            timeout_seconds,
        } => load::first_handshake(addr, &name, timeout_seconds).await,
        Command::BareProxy(_) => unreachable!("started before any runtime"),
    }
}
