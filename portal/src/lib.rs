//! Porta's portal core: the axum application behind the edge.
//!
//! Where things are:
//! - [`app`]: every feature router merged, and the layers around them;
//! - [`request`]: what each request is for (its [`request::Site`], from the
//!   edge's signed context or the host), who is signed in, CSRF;
//! - [`error`]: the one place errors become responses (JSON under `/api/`,
//!   the layout's error page elsewhere);
//! - [`page`]: the page context every page embeds, menus, message codes;
//! - one folder per feature, with its handlers, page types and guard:
//!   [`auth`] (sign-in, sign-out, handoff), [`client`] (`/client-portal/*`),
//!   [`msp`] (`/msp/*` and `/api/msp/*`); their templates sit in the
//!   matching folders under `templates/`.
//!
//! [`build`] binds the listener and returns an [`App`] with the bound
//! address; [`App::run_until_stopped`] serves until the shutdown future
//! resolves. Tests start the same `App` on port 0.

mod app;
pub mod attachments;
mod auth;
pub mod background;
pub mod billing;
mod branding;
mod client;
pub mod error;
pub mod i18n;
mod invitations;
pub mod mail;
mod msp;
mod notifications;
pub mod oidc;
mod page;
mod profile;
pub mod request;
mod state;
mod system;
mod tenant_cache;
mod theme;
mod tickets;
mod two_factor;

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
    state: AppState,
    transport: mail::Transport,
}

/// Why the portal could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error(transparent)]
    Attachments(#[from] attachments::store::StoreError),
    #[error("mail: {0}")]
    Mail(#[from] mail::MailError),
    #[error(transparent)]
    MasterKey(#[from] porta_core::master_key::MasterKeyError),
}

/// Binds `config.portal.listen`, opens the attachment store and builds the
/// router. Links built for plain HTTP use the bound port when the
/// configuration asked for port 0 and named no public port.
pub async fn build(config: Arc<Config>, db: Db, keys: SessionKeys) -> Result<App, BuildError> {
    let listen = config.portal.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| BuildError::Listen(listen, e))?;
    let address = listener.local_addr().map_err(|e| BuildError::Listen(listen, e))?;
    let config = if config.portal.listen.port() == 0 && config.portal.public_port.is_none() {
        let mut bound = (*config).clone();
        bound.portal.public_port = Some(address.port());
        Arc::new(bound)
    } else {
        config
    };
    let files = attachments::AttachmentStore::open(&config.attachments)?;
    let transport = mail::Transport::from_config(&config.mail)?;
    let master_key = porta_core::master_key::MasterKey::from_config(&config)?;
    let state = AppState::new(config, db, keys, master_key, files);
    Ok(App {
        listener,
        address,
        router: app::app(state.clone()),
        state,
        transport,
    })
}

impl App {
    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves (and runs the [`background`] tasks) until `shutdown`
    /// resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let tasks = background::spawn(&self.state, self.transport, stopped);
        let served = axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        let _ = stop.send(true);
        for task in tasks {
            let _ = task.await;
        }
        served
    }
}
