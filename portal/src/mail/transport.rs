//! Where a message goes: an SMTP server (lettre, TLS by rustls), or a
//! directory of `.eml` files when none is configured.

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use porta_core::config::{MailConfig, MailTransport, SmtpTls};
use porta_core::db::outbox::Mail;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("cannot write the message file: {0}")]
    File(#[from] std::io::Error),
}

/// How messages leave.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Directory(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp(_) => f.write_str("Transport::Smtp"),
            Transport::Directory(dir) => write!(f, "Transport::Directory({})", dir.display()),
        }
    }
}

impl Transport {
    pub fn from_config(config: &MailConfig) -> Result<Transport, MailError> {
        match &config.transport {
            MailTransport::Directory(dir) => Ok(Transport::Directory(dir.clone())),
            MailTransport::Smtp(smtp) => {
                let builder = match smtp.tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
                    SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                        .map_err(|e| MailError::Smtp(e.to_string()))?,
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                        .map_err(|e| MailError::Smtp(e.to_string()))?,
                };
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(std::time::Duration::from_secs(20)));
                if let Some((user, password)) = &smtp.credentials {
                    builder =
                        builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
                }
                Ok(Transport::Smtp(builder.build()))
            }
        }
    }

    /// Sends one message of the outbox.
    pub async fn send(&self, from: &str, mail: &Mail) -> Result<(), MailError> {
        let message = build(from, mail)?;
        match self {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map_err(|e| MailError::Smtp(e.to_string()))?;
            }
            Transport::Directory(dir) => {
                porta_core::private_file::create_private_dir(dir)?;
                let path = dir.join(format!("{}.eml", mail.id));
                porta_core::private_file::replace(&path, &message.formatted())?;
                tracing::info!(path = %path.display(), "mail written to the development directory");
            }
        }
        Ok(())
    }
}

fn mailbox(name: &str, address: &str) -> Result<Mailbox, MailError> {
    let address = address
        .parse()
        .map_err(|_| MailError::Address(address.to_owned()))?;
    let name = (!name.is_empty()).then(|| name.to_owned());
    Ok(Mailbox::new(name, address))
}

fn build(from: &str, mail: &Mail) -> Result<Message, MailError> {
    let from: Mailbox = from.parse().map_err(|_| MailError::Address(from.to_owned()))?;
    let mut builder = Message::builder()
        .from(from)
        .to(mailbox(&mail.to_name, &mail.to_address)?)
        .subject(&mail.subject);
    if let Some(reply_to) = mail.reply_to.as_deref().filter(|r| !r.is_empty()) {
        builder = builder.reply_to(mailbox("", reply_to)?);
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text_body.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.html_body.clone()),
                ),
        )
        .map_err(|e| MailError::Build(e.to_string()))
}
