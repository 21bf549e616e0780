//! One function per command.

mod admin;
mod cert;
mod domain;
mod output;
mod records;
mod serve;

use anyhow::Context;
use porta_core::config::Config;
use porta_core::db::Db;

use crate::cli::{Cli, Command};
use crate::telemetry;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut extra = Vec::new();
    if let Some(dir) = &cli.global.data_dir {
        extra.push(("PORTA_DATA_DIR", dir.display().to_string()));
    }
    let config = Config::load(cli.global.config.as_deref(), &extra)?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Up => serve::up(config).await,
        Command::Portal => serve::portal(config).await,
        Command::Edge { upgrade } => serve::edge(config, upgrade).await,
        Command::Migrate => {
            let db = open_db(&config).await?;
            println!("migrated the {} database", db.backend());
            Ok(())
        }
        Command::Tenant(cmd) => admin::tenant(&open_db(&config).await?, &config, cmd).await,
        Command::Client(cmd) => admin::client(&open_db(&config).await?, cmd).await,
        Command::User(cmd) => admin::user(&open_db(&config).await?, cmd).await,
        Command::Domain(cmd) => domain::domain(&open_db(&config).await?, &config, cmd).await,
        Command::Cert(cmd) => cert::cert(&open_db(&config).await?, &config, cmd).await,
        Command::Ticket(cmd) => records::ticket(&open_db(&config).await?, cmd).await,
        Command::Audit(cmd) => records::audit(&open_db(&config).await?, cmd).await,
    }
}

/// Connects to the configured database and applies migrations.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect_with(&config.database_url(), config.database.pool())
        .await
        .with_context(|| match &config.database.url {
            porta_core::config::DatabaseUrl::Sqlite(path) => {
                format!("cannot open SQLite database {}", path.display())
            }
            porta_core::config::DatabaseUrl::Postgres(_) => "cannot connect to PostgreSQL".to_owned(),
        })?;
    db.migrate().await.context("cannot migrate the database")?;
    Ok(db)
}
