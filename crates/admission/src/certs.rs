//! A self-made CA and a serving certificate for the webhook Service, for clusters without
//! cert-manager: the API server trusts the CA through the webhook configuration's `caBundle`.

use std::io;
use std::path::Path;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// How long the CA is valid.
const CA_DAYS: i64 = 3650;
/// How long the serving certificate is valid.
const SERVING_DAYS: i64 = 365;

/// A CA and a serving certificate signed by it, PEM-encoded.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The CA certificate (`ca.crt`).
    pub ca_cert: String,
    /// The serving certificate (`tls.crt`).
    pub cert: String,
    /// The serving key (`tls.key`).
    pub key: String,
}

impl Generated {
    /// The CA as the webhook configuration's `caBundle` wants it: base64 of the PEM.
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_cert)
    }

    /// Writes `ca.crt`, `tls.crt` and `tls.key` (readable by the owner only) into `dir`,
    /// creating it.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("ca.crt"), &self.ca_cert)?;
        std::fs::write(dir.join("tls.crt"), &self.cert)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        io::Write::write_all(&mut options.open(dir.join("tls.key"))?, self.key.as_bytes())
    }
}

/// The DNS names the API server may use for `service` in `namespace`.
pub fn dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
        format!("{service}.{namespace}"),
        service.to_string(),
    ]
}

/// Creates a CA and a certificate for `names` (DNS names or IP addresses) signed by it.
pub fn generate(names: &[String]) -> Result<Generated, rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "haechi admission webhook CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - Duration::hours(1);
    ca.not_after = now + Duration::days(CA_DAYS);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut serving = CertificateParams::new(names.to_vec())?;
    let common_name = names.first().map_or("haechi", String::as_str);
    serving
        .distinguished_name
        .push(DnType::CommonName, common_name);
    serving.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    serving.not_before = now - Duration::hours(1);
    serving.not_after = now + Duration::days(SERVING_DAYS);
    let key = KeyPair::generate()?;
    let cert = serving.signed_by(&key, &ca)?;
    let ca_cert: &rcgen::Certificate = ca.as_ref();
    Ok(Generated {
        ca_cert: ca_cert.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}
