//! Porta's portal core: the axum application behind the edge.
//!
//! It owns sign-in (client users on `/auth/client-portal/signin`, MSP staff
//! on `/auth/msp/signin`), server-side sessions and their cookie, the
//! middleware that guards `/client-portal/*` and `/msp/*`, and the pages.
//! Every request is first tied to a tenant by its host ([`site`]); an
//! unknown host gets 404, never another tenant's page.
//!
//! [`build`] binds the listener and returns an [`App`] with the bound
//! address; [`App::run_until_stopped`] serves until the shutdown future
//! resolves. Tests start the same `App` on port 0.

mod domain_settings;
mod error;
mod guard;
mod handoff;
mod pages;
mod routes;
mod session;
mod site;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use porta_core::config::Config;
use porta_core::db::Db;
use porta_core::session_token::SessionKeys;
use tokio::net::TcpListener;

pub use error::AppError;
pub use state::AppState;

/// A portal bound to its address, not yet serving.
pub struct App {
    listener: TcpListener,
    address: SocketAddr,
    router: axum::Router,
}

/// Binds `config.portal.listen` and builds the router.
pub async fn build(config: Arc<Config>, db: Db, keys: SessionKeys) -> std::io::Result<App> {
    let listener = TcpListener::bind(config.portal.listen).await?;
    let address = listener.local_addr()?;
    let state = AppState::new(config, db, keys);
    Ok(App {
        listener,
        address,
        router: routes::router(state),
    })
}

impl App {
    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
