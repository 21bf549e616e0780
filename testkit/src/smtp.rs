//! A real SMTP server for tests: Debian's `aiosmtpd` with its Maildir
//! handler, on a free port of 127.0.0.1. Every message lands whole in
//! `DIR/new/`; [`SmtpReceiver::wait_for`] reads and parses them. Stopping
//! and starting it is how a test makes the mail server go away.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PYTHON: &str = "/usr/bin/python3";

/// One received message, decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub from: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The message as received.
    pub raw: String,
}

impl ReceivedMail {
    fn parse(raw: &[u8]) -> Option<ReceivedMail> {
        let message = mail_parser::MessageParser::default().parse(raw)?;
        let first = |a: Option<&mail_parser::Address>| {
            a.and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned()
        };
        Some(ReceivedMail {
            to: first(message.to()),
            from: first(message.from()),
            reply_to: message.reply_to().is_some().then(|| first(message.reply_to())),
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
            html: message.body_html(0).map(|b| b.into_owned()).unwrap_or_default(),
            raw: String::from_utf8_lossy(raw).into_owned(),
        })
    }

    /// The first `https?://…` link in the text body that contains `part`.
    pub fn link_containing(&self, part: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
            .find(|w| w.contains(part))
            .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
    }
}

pub struct SmtpReceiver {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl std::fmt::Debug for SmtpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpReceiver")
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .finish_non_exhaustive()
    }
}

impl SmtpReceiver {
    /// Starts the server and waits until it accepts connections. Panics
    /// with the way to install it when aiosmtpd is missing.
    pub fn start() -> SmtpReceiver {
        let ok = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "aiosmtpd is missing: `apt-get install python3-aiosmtpd` (scripts/test does this)"
        );
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut receiver = SmtpReceiver {
            port,
            dir: tempfile::tempdir().expect("temp dir for mail"),
            child: None,
        };
        receiver.launch();
        receiver
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    fn launch(&mut self) {
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `[mail]` settings, as environment variables, that send here.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PORTA_MAIL_SMTP_HOST".into(), "127.0.0.1".into()),
            ("PORTA_MAIL_SMTP_PORT".into(), self.port.to_string()),
            ("PORTA_MAIL_TLS".into(), "none".into()),
        ]
    }

    /// Stops the server (mail sent now fails and is retried).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let dir = self.maildir().join("new");
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        (
                            e.metadata()
                                .and_then(|m| m.modified())
                                .unwrap_or(std::time::UNIX_EPOCH),
                            e.path(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|(_, path)| std::fs::read(path).ok())
            .filter_map(|raw| ReceivedMail::parse(&raw))
            .collect()
    }

    /// Waits (up to 20 s) for a message to `to` whose subject contains
    /// `subject`, and returns it; panics with what did arrive otherwise.
    pub async fn wait_for(&self, to: &str, subject: &str) -> ReceivedMail {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.messages();
            if let Some(mail) = all
                .iter()
                .rev()
                .find(|m| m.to.eq_ignore_ascii_case(to) && m.subject.contains(subject))
            {
                return mail.clone();
            }
            if Instant::now() > deadline {
                let seen: Vec<String> = all.iter().map(|m| format!("{} / {}", m.to, m.subject)).collect();
                panic!("no mail to {to} about {subject:?}; received: {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages to `to`.
    pub fn to(&self, to: &str) -> Vec<ReceivedMail> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .collect()
    }

    /// The directory messages land in (for a test that wants the files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}
