//! The serving certificate: read from PEM files, and swapped for new handshakes when the files
//! change (cert-manager and kubelet rewrite mounted Secrets in place). Connections already open
//! keep the certificate they started with. A pair that does not load, such as a certificate
//! whose key has not been written yet, leaves the current one in use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate or key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TlsError {
    /// The file at fault.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

fn error(path: &Path, message: impl ToString) -> TlsError {
    TlsError {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// The current certificate and key, and where they come from.
#[derive(Debug)]
pub struct CertStore {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    /// The file contents last tried, so that an unchanged (or unchanged broken) pair is not
    /// parsed again on every poll.
    last: Mutex<(Vec<u8>, Vec<u8>)>,
}

/// The crypto provider: ring (aws-lc-rs would need cmake and nasm to build).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl CertStore {
    /// Loads the certificate chain and key.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<CertStore, TlsError> {
        let provider = provider();
        let cert = read(cert_path)?;
        let key = read(key_path)?;
        let certified = certified_key(&provider, cert_path, &cert, key_path, &key)?;
        Ok(CertStore {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            current: ArcSwap::from_pointee(certified),
            last: Mutex::new((cert, key)),
        })
    }

    /// Re-reads the files: `Ok(true)` when a new pair is now served, `Ok(false)` when nothing
    /// changed, an error (the old pair still served) when the new files do not make a pair.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let cert = read(&self.cert_path)?;
        let key = read(&self.key_path)?;
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.0 == cert && last.1 == key {
            return Ok(false);
        }
        *last = (cert, key);
        let certified = certified_key(
            &self.provider,
            &self.cert_path,
            &last.0,
            &self.key_path,
            &last.1,
        )?;
        self.current.store(Arc::new(certified));
        Ok(true)
    }

    /// A rustls server configuration that asks this store for the certificate of each
    /// handshake: TLS 1.2 and 1.3, HTTP/1.1.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| error(path, e))
}

fn certified_key(
    provider: &CryptoProvider,
    cert_path: &Path,
    cert: &[u8],
    key_path: &Path,
    key: &[u8],
) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(cert_path, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(error(cert_path, "no CERTIFICATE block"));
    }
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| error(key_path, format!("not a PEM private key: {e}")))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        error(
            key_path,
            format!("does not go with {}: {e}", cert_path.display()),
        )
    })
}
