//! Bulk certificates for the handshake and memory benchmarks: one P-256
//! key, a self-signed leaf per name (signing is the only per-certificate
//! cost: ~30 µs each, spread over the cores), stored through
//! `porta_certs::store::insert_many` in transactions of 20 000.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use porta_certs::master_key::MasterKey;
use porta_certs::store::{self, NewCertificate};
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::Db;
use porta_core::issuer::CertificateSource;
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};

const BATCH: usize = 20_000;

/// Opens (and migrates) the database of `config`.
pub async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url(), 8).await.context("database")?;
    db.migrate().await.context("migrations")?;
    Ok(db)
}

fn leaves(key: &KeyPair, names: &[String]) -> anyhow::Result<Vec<String>> {
    names
        .iter()
        .map(|name| {
            let params = CertificateParams::new(vec![name.clone()])?;
            Ok(params.self_signed(key)?.pem())
        })
        .collect()
}

pub async fn certs(config: &Path, count: usize, suffix: &str, names_file: &Path) -> anyhow::Result<()> {
    let config = Config::load(Some(config), &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = open(&config).await?;
    let master = MasterKey::from_config(&config)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let key_pem = key.serialize_pem();
    let names: Vec<String> = (0..count).map(|i| format!("h{i}.{suffix}")).collect();
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut stored = 0;
    for batch in names.chunks(BATCH) {
        let per_thread = batch.len().div_ceil(threads).max(1);
        let chains: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(per_thread)
                .map(|part| scope.spawn(|| leaves(&key, part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("signing thread"))
                .collect::<anyhow::Result<Vec<Vec<String>>>>()
        })?
        .into_iter()
        .flatten()
        .collect();
        let new: Vec<NewCertificate<'_>> = batch
            .iter()
            .zip(&chains)
            .map(|(name, chain)| NewCertificate {
                tenant: None,
                domain: name,
                issuer: CertificateSource::Imported,
                chain_pem: chain,
                key_pem: &key_pem,
            })
            .collect();
        stored += store::insert_many(&db, &master, &new, UnixMillis::now()).await?;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(names_file)?);
    for name in &names {
        writeln!(out, "{name}")?;
    }
    out.flush()?;
    println!(
        "{}",
        serde_json::json!({ "stored": stored, "seconds": started.elapsed().as_secs_f64() })
    );
    Ok(())
}
