//! HTTP clients for push endpoints: rustls with the web PKI roots plus the configured extra CA file,
//! an endpoint's own CA certificate(s) from the directory when it has them, and the broker's client
//! certificate for endpoints that require mutual TLS. Redirects are never followed: the broker delivers
//! only to the address registered in its directory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use crate::address::TargetPolicy;
use crate::config::DeliverySettings;

/// The system resolver, keeping only the addresses the target policy allows: a receiver's name that
/// resolves inward (to this host, the private network, a metadata service) is refused at connect time,
/// whatever it resolved to when the directory was imported.
struct GuardedResolver {
    targets: TargetPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let targets = self.targets;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<std::net::SocketAddr> = found.filter(|addr| targets.allows(addr.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(crate::address::RefusedTarget) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read {what} {path}: {problem}")]
    File { what: &'static str, path: String, problem: String },
    #[error("the directory's CA certificate for this endpoint is not usable: {0}")]
    EndpointCa(String),
    #[error("the HTTP client cannot be built: {0}")]
    Build(String),
    #[error("this endpoint asks for the broker's client certificate, and none is configured")]
    NoClientCertificate,
}

/// One client per trust and identity combination, made once and reused (each keeps its connections).
pub struct Clients {
    roots: RootCertStore,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    connect_timeout: Duration,
    timeout: Duration,
    per_receiver: usize,
    /// Resolves receivers' names, dropping the addresses pushes may not reach.
    resolver: Arc<GuardedResolver>,
    cache: Mutex<HashMap<(Option<String>, bool), reqwest::Client>>,
}

impl Clients {
    pub fn new(settings: &DeliverySettings, targets: TargetPolicy) -> Result<Self, ClientError> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(path) = &settings.ca_file {
            let file =
                |problem: String| ClientError::File { what: "CA file", path: path.display().to_string(), problem };
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| file(e.to_string()))? {
                roots.add(cert.map_err(|e| file(e.to_string()))?).map_err(|e| file(e.to_string()))?;
            }
        }
        let identity = match (&settings.client_cert, &settings.client_key) {
            (Some(cert), Some(key)) => {
                let file = |what, path: &std::path::Path, problem: String| ClientError::File {
                    what,
                    path: path.display().to_string(),
                    problem,
                };
                let chain = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| file("client certificate", cert, e.to_string()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| file("client certificate", cert, e.to_string()))?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| file("client key", key, e.to_string()))?;
                Some((chain, key))
            }
            _ => None,
        };
        Ok(Self {
            roots,
            identity,
            connect_timeout: Duration::from_millis(settings.connect_timeout_ms),
            timeout: Duration::from_millis(settings.timeout_ms),
            per_receiver: settings.per_receiver,
            resolver: Arc::new(GuardedResolver { targets }),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The client for an endpoint with these directory settings.
    pub fn for_endpoint(&self, ca_pem: Option<&str>, client_certificate: bool) -> Result<reqwest::Client, ClientError> {
        let key = (ca_pem.map(str::to_owned), client_certificate);
        if let Some(client) = self.cache.lock().map_err(|_| ClientError::Build("cache poisoned".into()))?.get(&key) {
            return Ok(client.clone());
        }
        let mut roots = self.roots.clone();
        if let Some(pem) = ca_pem {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| ClientError::EndpointCa(e.to_string()))?;
                roots.add(cert).map_err(|e| ClientError::EndpointCa(e.to_string()))?;
            }
        }
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let tls = if client_certificate {
            let (chain, key) = self.identity.as_ref().ok_or(ClientError::NoClientCertificate)?;
            builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| ClientError::Build(e.to_string()))?
        } else {
            builder.with_no_client_auth()
        };
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(self.resolver.clone())
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .pool_max_idle_per_host(self.per_receiver)
            .user_agent(concat!("handover-broker/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, client.clone());
        }
        Ok(client)
    }
}
