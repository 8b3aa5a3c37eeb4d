//! The process's one rustls crypto provider, installed by everything that makes or takes TLS
//! connections (the server, the push clients, the mailbox client, the load generator).

/// Installs ring as the process's rustls crypto provider. Idempotent.
pub fn install_provider() {
    // Err means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
