//! A self-made CA and a serving certificate for the webhook Service, for clusters without
//! cert-manager: the API server trusts the CA through the webhook configuration's `caBundle`.
//! [`check`] reads a stored set back and says whether it can be kept; [`cluster`] keeps it in a
//! Secret and the CA in the webhook configurations.

use std::io;
use std::path::Path;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

pub mod cluster;

/// How long the CA is valid.
const CA_DAYS: i64 = 3650;
/// How long the serving certificate is valid.
const SERVING_DAYS: i64 = 365;
/// A stored certificate (or its CA) with less than this left is replaced.
pub const RENEW_BEFORE_DAYS: i64 = 30;

/// A CA and a serving certificate signed by it, PEM-encoded.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The CA certificate (`ca.crt`).
    pub ca_cert: String,
    /// The serving certificate (`tls.crt`).
    pub cert: String,
    /// The serving key (`tls.key`).
    pub key: String,
    /// When the serving certificate expires.
    pub not_after: OffsetDateTime,
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
    generate_at(names, OffsetDateTime::now_utc())
}

/// Like [`generate`], as if the clock said `now`: both certificates are valid from an hour
/// before it.
pub fn generate_at(names: &[String], now: OffsetDateTime) -> Result<Generated, rcgen::Error> {
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
        not_after: now + Duration::days(SERVING_DAYS),
    })
}

/// Why a stored CA, certificate and key are not kept.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    /// A key of the Secret is missing.
    #[error("it has no {0}")]
    Missing(&'static str),
    /// A certificate's PEM or DER does not parse.
    #[error("{file} does not hold a certificate: {message}")]
    Unreadable {
        /// `ca.crt` or `tls.crt`.
        file: &'static str,
        /// What the parser said.
        message: String,
    },
    /// The key does not parse, or is not the certificate's.
    #[error("tls.key does not go with tls.crt: {0}")]
    Key(String),
    /// A certificate is not valid now, or not for [`RENEW_BEFORE_DAYS`] more days.
    #[error(
        "{file} is valid from {not_before} to {not_after}, not for the next {RENEW_BEFORE_DAYS} days"
    )]
    Expiring {
        /// `ca.crt` or `tls.crt`.
        file: &'static str,
        /// The certificate's notBefore (UTC).
        not_before: time::Date,
        /// The certificate's notAfter (UTC).
        not_after: time::Date,
    },
    /// The serving certificate lacks one of the Service's DNS names.
    #[error("tls.crt is not valid for {0}")]
    WrongName(String),
    /// The CA's key did not sign the serving certificate.
    #[error("ca.crt did not sign tls.crt")]
    NotSigned,
}

/// Whether PEM `ca_cert`, `cert` and `key` can go on serving `names` at `now` and for
/// [`RENEW_BEFORE_DAYS`] more days: the key is the certificate's (as `admit serve` loads them),
/// both certificates are valid that long, the serving certificate names every one of `names`,
/// and the CA signed it. Gives the serving certificate's expiry.
pub fn check(
    ca_cert: &[u8],
    cert: &[u8],
    key: &[u8],
    names: &[String],
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Unusable> {
    let ca_der = first_certificate("ca.crt", ca_cert)?;
    let cert_der = first_certificate("tls.crt", cert)?;
    let ca = parse("ca.crt", &ca_der)?;
    let serving = parse("tls.crt", &cert_der)?;
    matching_key(cert_der.clone(), key)?;
    let until = now + Duration::days(RENEW_BEFORE_DAYS);
    valid_through("ca.crt", &ca, now, until)?;
    valid_through("tls.crt", &serving, now, until)?;
    let listed = dns_names_of(&serving);
    if let Some(name) = names.iter().find(|name| !listed.contains(&name.as_str())) {
        return Err(Unusable::WrongName(name.clone()));
    }
    serving
        .verify_signature(Some(ca.public_key()))
        .map_err(|_| Unusable::NotSigned)?;
    Ok(serving.validity().not_after.to_datetime())
}

fn first_certificate(file: &'static str, pem: &[u8]) -> Result<CertificateDer<'static>, Unusable> {
    CertificateDer::from_pem_slice(pem).map_err(|e| Unusable::Unreadable {
        file,
        message: e.to_string(),
    })
}

fn parse<'a>(file: &'static str, der: &'a [u8]) -> Result<X509Certificate<'a>, Unusable> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, certificate)| certificate)
        .map_err(|e| Unusable::Unreadable {
            file,
            message: e.to_string(),
        })
}

fn matching_key(cert: CertificateDer<'static>, key: &[u8]) -> Result<(), Unusable> {
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| Unusable::Key(e.to_string()))?;
    CertifiedKey::from_der(vec![cert], key, &crate::tls::provider())
        .map(drop)
        .map_err(|e| Unusable::Key(e.to_string()))
}

fn valid_through(
    file: &'static str,
    certificate: &X509Certificate<'_>,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<(), Unusable> {
    let validity = certificate.validity();
    let (from, to) = (
        validity.not_before.to_datetime(),
        validity.not_after.to_datetime(),
    );
    if from <= now && until <= to {
        return Ok(());
    }
    Err(Unusable::Expiring {
        file,
        not_before: from.date(),
        not_after: to.date(),
    })
}

/// The DNS names of the certificate's subjectAltName extension.
fn dns_names_of<'a>(certificate: &'a X509Certificate<'_>) -> Vec<&'a str> {
    let Ok(Some(extension)) = certificate.subject_alternative_name() else {
        return Vec::new();
    };
    extension
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(*dns),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        dns_names("hook", "sec")
    }

    fn check_generated(
        generated: &Generated,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, Unusable> {
        check(
            generated.ca_cert.as_bytes(),
            generated.cert.as_bytes(),
            generated.key.as_bytes(),
            &names(),
            now,
        )
    }

    #[test]
    fn a_fresh_set_is_kept_until_thirty_days_before_it_expires() {
        let now = OffsetDateTime::now_utc();
        let generated = generate_at(&names(), now).unwrap();
        let not_after = check_generated(&generated, now).unwrap();
        assert_eq!(not_after.date(), generated.not_after.date());
        let late = now + Duration::days(SERVING_DAYS - RENEW_BEFORE_DAYS + 1);
        let reason = check_generated(&generated, late).unwrap_err().to_string();
        assert_eq!(
            reason,
            format!(
                "tls.crt is valid from {} to {}, not for the next 30 days",
                (now - Duration::hours(1)).date(),
                generated.not_after.date()
            )
        );
    }

    #[test]
    fn a_certificate_for_other_names_is_not_kept() {
        let generated = generate(&dns_names("hook", "other")).unwrap();
        let reason = check_generated(&generated, OffsetDateTime::now_utc()).unwrap_err();
        assert_eq!(reason.to_string(), "tls.crt is not valid for hook.sec.svc");
    }

    #[test]
    fn another_ca_or_key_is_not_kept() {
        let (one, two) = (generate(&names()).unwrap(), generate(&names()).unwrap());
        let now = OffsetDateTime::now_utc();
        let foreign_ca = check(
            one.ca_cert.as_bytes(),
            two.cert.as_bytes(),
            two.key.as_bytes(),
            &names(),
            now,
        );
        assert!(
            matches!(foreign_ca, Err(Unusable::NotSigned)),
            "{foreign_ca:?}"
        );
        let foreign_key = check(
            one.ca_cert.as_bytes(),
            one.cert.as_bytes(),
            two.key.as_bytes(),
            &names(),
            now,
        );
        assert!(
            matches!(foreign_key, Err(Unusable::Key(_))),
            "{foreign_key:?}"
        );
        let garbage = check(b"", one.cert.as_bytes(), one.key.as_bytes(), &names(), now);
        assert!(
            matches!(garbage, Err(Unusable::Unreadable { file: "ca.crt", .. })),
            "{garbage:?}"
        );
    }
}
