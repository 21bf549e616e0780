//! CNAME alignment of custom domains: does `portal.acme-it.com` point (via
//! a CNAME chain) at the canonical target the MSP was told to use? And the
//! other proof of control: a TXT record `_porta-challenge.<domain>` with the
//! registration's token ([`CnameVerifier::check_control`]).
//!
//! Lookups go to the configured nameservers (or the system's, from
//! `/etc/resolv.conf`) with short timeouts, so a sign-in waiting on this
//! check never hangs on DNS, and without a cache, so a record the MSP just
//! fixed is seen on the next check.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;

/// CNAME hops followed at most.
pub const MAX_HOPS: usize = 8;
/// Per-query timeout; each query is tried [`ATTEMPTS`] times.
pub const TIMEOUT: Duration = Duration::from_secs(2);
pub const ATTEMPTS: usize = 2;

/// DNS could not answer (as opposed to answering "no such record").
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("no nameservers: none configured and none in /etc/resolv.conf")]
    NoNameservers,
    #[error("cannot build the DNS resolver: {0}")]
    Setup(String),
    #[error("{0:?} is not a valid DNS name")]
    InvalidName(String),
    #[error("DNS lookup of {name} {record_type} failed: {source}")]
    Lookup {
        name: String,
        record_type: RecordType,
        source: NetError,
    },
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CnameCheck {
    /// Some name in the CNAME chain is the expected target.
    pub aligned: bool,
    /// What DNS answered, as text for staff (`a.example.com CNAME
    /// b.example.net`, `b.example.net A 192.0.2.7`).
    pub observed: Vec<String>,
}

/// The label of the TXT record that proves control of a domain:
/// `_porta-challenge.<domain>`.
pub const TXT_LABEL: &str = "_porta-challenge";

/// How a registration proved control of its domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The CNAME chain reaches the tenant's canonical host.
    Cname,
    /// `_porta-challenge.<domain>` TXT holds the registration's token.
    Txt,
}

/// The result of [`CnameVerifier::check_control`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlCheck {
    /// How control was proven, if it was.
    pub proof: Option<Proof>,
    /// What DNS answered (the CNAME chain and its addresses, then any TXT
    /// values of the challenge record).
    pub observed: Vec<String>,
}

/// Checks CNAME alignment; cheap to clone and share.
#[derive(Clone)]
pub struct CnameVerifier {
    resolver: TokioResolver,
}

impl std::fmt::Debug for CnameVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CnameVerifier").finish_non_exhaustive()
    }
}

impl CnameVerifier {
    /// A verifier asking `nameservers` (UDP, then TCP, on each address's
    /// port); the system's nameservers when empty.
    pub fn new(nameservers: &[SocketAddr]) -> Result<CnameVerifier, DnsError> {
        let servers: Vec<NameServerConfig> = if nameservers.is_empty() {
            system_nameservers()?
                .into_iter()
                .map(NameServerConfig::udp_and_tcp)
                .collect()
        } else {
            nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect()
        };
        let mut options = ResolverOpts::default();
        options.timeout = TIMEOUT;
        options.attempts = ATTEMPTS;
        // Every check must see DNS as it is now.
        options.cache_size = 0;
        options.positive_max_ttl = Some(Duration::ZERO);
        options.negative_max_ttl = Some(Duration::ZERO);
        options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        let resolver = TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
        .with_options(options)
        .build()
        .map_err(|e| DnsError::Setup(e.to_string()))?;
        Ok(CnameVerifier { resolver })
    }

    /// Follows the CNAME chain from `domain` (at most [`MAX_HOPS`]) and
    /// reports whether any name in it is `expected_target` (compared without
    /// case and trailing dots). No record or no such domain is an answer
    /// (`aligned: false`, with the A/AAAA records of the chain's last name,
    /// if any); a timeout or a server failure (including while looking up
    /// those addresses) is a [`DnsError`].
    #[tracing::instrument(skip(self))]
    pub async fn check(&self, domain: &str, expected_target: &str) -> Result<CnameCheck, DnsError> {
        let expected = normalize(expected_target);
        let mut current = normalize(domain);
        let mut observed = Vec::new();
        for _ in 0..MAX_HOPS {
            let Some(target) = self.cname_of(&current).await? else {
                break;
            };
            observed.push(format!("{current} CNAME {target}"));
            if target == expected {
                return Ok(CnameCheck {
                    aligned: true,
                    observed,
                });
            }
            current = target;
        }
        for record_type in [RecordType::A, RecordType::AAAA] {
            for address in self.records(&current, record_type).await? {
                observed.push(format!("{current} {record_type} {address}"));
            }
        }
        Ok(CnameCheck {
            aligned: false,
            observed,
        })
    }

    /// Whether the registration of `domain` has proven control of it: its
    /// CNAME chain reaches `expected_target` ([`CnameVerifier::check`]),
    /// or else the TXT record `_porta-challenge.<domain>` holds `token`
    /// (the TXT record is only asked when the CNAME does not prove it).
    #[tracing::instrument(skip(self, token))]
    pub async fn check_control(
        &self,
        domain: &str,
        expected_target: &str,
        token: &str,
    ) -> Result<ControlCheck, DnsError> {
        let cname = self.check(domain, expected_target).await?;
        if cname.aligned {
            return Ok(ControlCheck {
                proof: Some(Proof::Cname),
                observed: cname.observed,
            });
        }
        let record = format!("{}.{}", TXT_LABEL, normalize(domain));
        let values = self.txt(&record).await?;
        let mut observed = cname.observed;
        observed.extend(values.iter().map(|v| format!("{record} TXT {v:?}")));
        let proof = values.iter().any(|v| v.trim() == token).then_some(Proof::Txt);
        Ok(ControlCheck { proof, observed })
    }

    /// The values of the TXT records of `name` (each record's strings
    /// joined, as RFC 7208 reads them).
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let answers = self.lookup(name, RecordType::TXT).await?;
        Ok(answers
            .into_iter()
            .filter_map(|rdata| match rdata {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The CNAME target of `name`, if it has one.
    async fn cname_of(&self, name: &str) -> Result<Option<String>, DnsError> {
        let answers = self.lookup(name, RecordType::CNAME).await?;
        Ok(answers.into_iter().find_map(|rdata| match rdata {
            RData::CNAME(cname) => Some(normalize(&cname.0.to_ascii())),
            _ => None,
        }))
    }

    /// The addresses of `name` of `record_type` (A or AAAA), as text.
    async fn records(&self, name: &str, record_type: RecordType) -> Result<Vec<String>, DnsError> {
        let answers = self.lookup(name, record_type).await?;
        Ok(answers
            .into_iter()
            .filter_map(|rdata| match rdata {
                RData::A(a) => Some(a.to_string()),
                RData::AAAA(aaaa) => Some(aaaa.to_string()),
                _ => None,
            })
            .collect())
    }

    /// The answers for `name`; empty when the name or the record does not
    /// exist.
    async fn lookup(&self, name: &str, record_type: RecordType) -> Result<Vec<RData>, DnsError> {
        let fqdn =
            Name::from_ascii(format!("{name}.")).map_err(|_| DnsError::InvalidName(name.to_owned()))?;
        match self.resolver.lookup(fqdn.clone(), record_type).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.name == fqdn && r.record_type() == record_type)
                .map(|r| r.data.clone())
                .collect()),
            Err(e) if e.is_no_records_found() => Ok(Vec::new()),
            Err(source) => Err(DnsError::Lookup {
                name: name.to_owned(),
                record_type,
                source,
            }),
        }
    }
}

/// Lower case, no surrounding whitespace, no trailing dot.
fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The `nameserver` lines of `/etc/resolv.conf`.
fn system_nameservers() -> Result<Vec<IpAddr>, DnsError> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let servers = parse_resolv_conf(&text);
    if servers.is_empty() {
        return Err(DnsError::NoNameservers);
    }
    Ok(servers)
}

fn parse_resolv_conf(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            // `fe80::1%eth0`: the zone is not part of the address.
            words.next()?.split('%').next()?.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize(" Edge.Example.COM. "), "edge.example.com");
    }

    #[test]
    fn reads_nameservers_from_resolv_conf() {
        let text = "# comment\nsearch example.com\nnameserver 10.0.0.53\nnameserver  fe80::1%eth0\nnameserver bogus\noptions ndots:2\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                "10.0.0.53".parse::<IpAddr>().unwrap(),
                "fe80::1".parse::<IpAddr>().unwrap()
            ]
        );
    }
}
