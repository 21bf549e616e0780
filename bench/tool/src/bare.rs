//! `bare-proxy`: Pingora and rustls with nothing of the edge, proxying
//! every request to one upstream. The benchmark runs it beside the edge so
//! that the edge's proxy figures can be set against Pingora's own cost in
//! the same run: same Pingora, same TLS stack, same worker count and
//! certificate; no routing, no forwarding headers, no signed context, no
//! metrics, no read deadlines.

use std::net::SocketAddr;
use std::path::PathBuf;

use async_trait::async_trait;
use pingora::listeners::tls::TlsSettings;
use pingora::prelude::{HttpPeer, ProxyHttp, Result, Server, Session};
use pingora::server::configuration::ServerConf;

#[derive(Debug, clap::Args)]
pub struct BareArgs {
    /// Where it listens for TLS (HTTP/1.1 and HTTP/2).
    #[arg(long)]
    listen: SocketAddr,
    /// The plain-HTTP upstream every request goes to.
    #[arg(long)]
    upstream: SocketAddr,
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    threads: usize,
}

struct Bare {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }
}

/// Serves until killed (Pingora's own runtimes: not called inside one).
pub fn run(args: BareArgs) -> anyhow::Result<()> {
    let mut server = Server::new_with_opt_and_conf(
        None,
        ServerConf {
            threads: args.threads,
            // Stopped by SIGTERM between sections: no drain to wait for.
            grace_period_seconds: Some(0),
            graceful_shutdown_timeout_seconds: Some(1),
            ..ServerConf::default()
        },
    );
    server.bootstrap();
    let mut service = pingora::proxy::http_proxy_service(
        &server.configuration,
        Bare {
            upstream: args.upstream,
        },
    );
    let path = |p: &PathBuf| p.to_string_lossy().into_owned();
    let mut tls = TlsSettings::intermediate(&path(&args.cert), &path(&args.key))
        .map_err(|e| anyhow::anyhow!("TLS settings: {e}"))?;
    tls.enable_h2();
    service.add_tls_with_settings(&args.listen.to_string(), None, tls);
    server.add_service(service);
    server.run_forever()
}
