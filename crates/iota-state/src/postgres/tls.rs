//! TLS for the PostgreSQL backend, configured as libpq is: `sslmode` (`disable`, `prefer`,
//! `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file of the certificate
//! authorities to trust, or `system`) in the URL. The driver knows only `disable`, `prefer`
//! and `require` and no `sslrootcert`, so both are taken off the URL here and applied through
//! a rustls configuration of our own. Connection failures caused by TLS are explained in
//! libpq's terms: which check failed and which parameter to change.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use ::postgres::config::SslMode as DriverSslMode;
use percent_encoding::percent_decode_str;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{aws_lc_rs, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`, without `allow` (plaintext first, TLS if the server insists), which the
/// driver cannot do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server supports it, plaintext otherwise; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is checked only against `sslrootcert` if given.
    Require,
    /// TLS, with a certificate signed by a trusted authority.
    VerifyCa,
    /// TLS, with a certificate signed by a trusted authority and naming the host.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, TlsConfigError> {
        match value {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(TlsConfigError::UnsupportedMode(other.to_owned())),
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// The certificate authorities a server's certificate may be signed by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TrustRoots {
    /// The platform's trust store: `sslrootcert=system`, and `verify-*` without `sslrootcert`.
    Platform,
    /// `sslrootcert=PATH`: a PEM file of certificates (e.g. the Amazon RDS bundle).
    File(PathBuf),
}

impl fmt::Display for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustRoots::Platform => f.write_str("the platform's trust store"),
            TrustRoots::File(path) => write!(f, "sslrootcert file {}", path.display()),
        }
    }
}

impl TrustRoots {
    fn load(&self) -> Result<RootCertStore, TlsConfigError> {
        let mut store = RootCertStore::empty();
        match self {
            TrustRoots::File(path) => {
                let certificates = CertificateDer::pem_file_iter(path)
                    .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                    .map_err(|source| TlsConfigError::UnreadableRootCert {
                        path: path.clone(),
                        source,
                    })?;
                // Like OpenSSL for libpq, skip what cannot be a trust anchor rather than
                // refuse a whole bundle for it.
                let (added, _ignored) = store.add_parsable_certificates(certificates);
                if added == 0 {
                    return Err(TlsConfigError::NoCertificateInRootCert { path: path.clone() });
                }
            }
            TrustRoots::Platform => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _ignored) = store.add_parsable_certificates(found.certs);
                if added == 0 {
                    let problems = found.errors.iter().map(ToString::to_string);
                    return Err(TlsConfigError::NoPlatformRoots {
                        problems: problems.collect::<Vec<_>>().join("; "),
                    });
                }
            }
        }
        Ok(store)
    }
}

/// What the client checks of the server's certificate.
enum Verification {
    /// Nothing: the session is encrypted, but whoever sits between iota and the server can
    /// pose as the server.
    None,
    /// That the certificate is signed by one of these authorities, whatever host it names.
    Issuer(TrustRoots),
    /// The issuer, and that the certificate names the host iota connects to.
    IssuerAndHost(TrustRoots),
}

/// The TLS parameters of a PostgreSQL URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    mode: SslMode,
    /// `sslrootcert`, when given.
    root_cert: Option<TrustRoots>,
}

impl TlsSettings {
    /// Takes `sslmode` and `sslrootcert` off `url`'s query: returns the URL for the driver and
    /// the settings.
    pub(crate) fn take_from_url(url: &str) -> Result<(String, TlsSettings), TlsConfigError> {
        // The query starts at the first '?' after the credentials, where the driver looks for
        // it (a password may hold a '?').
        let credentials_end = url.find('@').map_or(0, |at| at + 1);
        let Some(query_start) = url[credentials_end..]
            .find('?')
            .map(|at| credentials_end + at)
        else {
            return Ok((url.to_owned(), TlsSettings::resolve(None, None)?));
        };
        let mut mode = None;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in url[query_start + 1..].split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match percent_decode_str(key).decode_utf8().as_deref() {
                Ok("sslmode") => mode = Some(SslMode::parse(&decode("sslmode", value)?)?),
                Ok("sslrootcert") => root_cert = Some(decode("sslrootcert", value)?.into_owned()),
                _ => kept.push(pair),
            }
        }
        let mut driver_url = url[..query_start].to_owned();
        if !kept.is_empty() {
            driver_url.push('?');
            driver_url.push_str(&kept.join("&"));
        }
        Ok((driver_url, TlsSettings::resolve(mode, root_cert)?))
    }

    fn resolve(mode: Option<SslMode>, root_cert: Option<String>) -> Result<Self, TlsConfigError> {
        let root_cert = root_cert.map(|value| match value.as_str() {
            "system" => TrustRoots::Platform,
            _ => TrustRoots::File(value.into()),
        });
        let mode = match (mode, &root_cert) {
            // As libpq: the platform trusts authorities that sign certificates for anyone, so
            // a certificate they signed proves something only for the host it names.
            (None, Some(TrustRoots::Platform)) => SslMode::VerifyFull,
            (Some(mode), Some(TrustRoots::Platform)) if mode != SslMode::VerifyFull => {
                return Err(TlsConfigError::SystemRootsNeedVerifyFull(mode))
            }
            (mode, _) => mode.unwrap_or(SslMode::Prefer),
        };
        Ok(TlsSettings { mode, root_cert })
    }

    /// The mode to give the driver: whether to ask for TLS, and whether to go on without it.
    pub(crate) fn driver_mode(&self) -> DriverSslMode {
        match self.mode {
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverSslMode::Require,
        }
    }

    fn verification(&self) -> Verification {
        let roots = || self.root_cert.clone().unwrap_or(TrustRoots::Platform);
        match self.mode {
            SslMode::Disable | SslMode::Prefer => Verification::None,
            // libpq's `require` checks the issuer when it has root certificates, a behaviour
            // kept from before verify-ca existed.
            SslMode::Require => match &self.root_cert {
                Some(roots) => Verification::Issuer(roots.clone()),
                None => Verification::None,
            },
            SslMode::VerifyCa => Verification::Issuer(roots()),
            SslMode::VerifyFull => Verification::IssuerAndHost(roots()),
        }
    }

    /// The TLS connector for the driver; loads the trust roots the mode needs.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect, TlsConfigError> {
        // Explicit rather than the process default, which is ambiguous when other crates in
        // the process enable a second provider.
        let provider = Arc::new(aws_lc_rs::default_provider());
        let (roots, check_host) = match self.verification() {
            Verification::None => (None, false),
            Verification::Issuer(roots) => (Some(roots.load()?), false),
            Verification::IssuerAndHost(roots) => (Some(roots.load()?), true),
        };
        let verifier = CertificateVerifier {
            roots,
            check_host,
            provider: provider.clone(),
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // PostgreSQL 17 accepts direct TLS (`sslnegotiation=direct`, passed to the driver)
        // only with this ALPN protocol; libpq sends it on every TLS connection, and older
        // servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(MakeRustlsConnect::new(config))
    }

    /// The error of a failed connection, explained when TLS is the cause.
    pub(crate) fn explain(&self, error: ::postgres::Error) -> ConnectError {
        let mode = self.mode;
        if self.driver_mode() == DriverSslMode::Require && server_refused_tls(&error) {
            return ConnectError::ServerWithoutSsl { mode };
        }
        let roots = match self.verification() {
            Verification::None => return ConnectError::Driver(error),
            Verification::Issuer(roots) | Verification::IssuerAndHost(roots) => roots,
        };
        match certificate_error(&error) {
            Some(CertificateError::UnknownIssuer) => {
                ConnectError::UntrustedCertificate { mode, roots }
            }
            Some(
                name_error @ (CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. }),
            ) => ConnectError::CertificateForOtherHost {
                mode,
                detail: name_error.to_string(),
            },
            Some(other) => ConnectError::RejectedCertificate {
                mode,
                roots,
                detail: other.to_string(),
            },
            None => ConnectError::Driver(error),
        }
    }
}

fn decode<'a>(key: &'static str, value: &'a str) -> Result<Cow<'a, str>, TlsConfigError> {
    percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| TlsConfigError::NotUtf8(key))
}

/// Whether the server answered the request for TLS with "no". The driver says so only in
/// its message; tests/postgres_tls.rs checks that this still recognizes it.
fn server_refused_tls(error: &::postgres::Error) -> bool {
    error
        .source()
        .is_some_and(|cause| cause.to_string() == "server does not support TLS")
}

/// The reason rustls rejected the server's certificate, if that is why the connection failed.
fn certificate_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a CertificateError> {
    let mut next = Some(error);
    while let Some(current) = next {
        // tokio-rustls wraps the handshake's error in an io::Error, whose source() skips it.
        let wrapped = current
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .map(|inner| inner as &(dyn Error + 'static));
        for candidate in [Some(current), wrapped].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(reason)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(reason);
            }
        }
        next = current.source();
    }
    None
}

/// Checks the server's certificate as the mode asks. The handshake's signatures are always
/// checked, so even an unverified session is bound to the key of the certificate shown.
#[derive(Debug)]
struct CertificateVerifier {
    /// `None`: any certificate is accepted.
    roots: Option<RootCertStore>,
    check_host: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CertificateVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let certificate = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &certificate,
            roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        if self.check_host {
            verify_server_name(&certificate, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// TLS parameters that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsConfigError {
    #[error(
        "sslmode={0:?} is not supported: use disable, prefer, require, verify-ca or verify-full"
    )]
    UnsupportedMode(String),
    #[error("sslrootcert=system needs sslmode=verify-full (as in libpq), not sslmode={0}")]
    SystemRootsNeedVerifyFull(SslMode),
    #[error("{0} in the URL is not valid percent-encoded UTF-8")]
    NotUtf8(&'static str),
    #[error("cannot read sslrootcert file {}: {source}", path.display())]
    UnreadableRootCert {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("sslrootcert file {} holds no PEM certificate", path.display())]
    NoCertificateInRootCert { path: PathBuf },
    #[error(
        "no certificate authority found in the platform's trust store ({problems}): set \
         sslrootcert to a PEM file of the authorities to trust"
    )]
    NoPlatformRoots { problems: String },
    #[error("cannot set up TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Why a connection failed, in libpq's terms when TLS is the cause.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error(
        "the server does not support SSL, which sslmode={mode} requires: turn ssl on in the \
         server's configuration, or connect with sslmode=prefer or sslmode=disable"
    )]
    ServerWithoutSsl { mode: SslMode },
    #[error(
        "sslmode={mode}: the server's certificate failed the issuer check: it is not signed by \
         a certificate authority in {roots}; set sslrootcert to a PEM file of the authorities \
         that sign it (for Amazon RDS, the bundle at \
         https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)"
    )]
    UntrustedCertificate { mode: SslMode, roots: TrustRoots },
    #[error(
        "sslmode={mode}: the server's certificate failed the host name check: {detail}; \
         connect with a host name the certificate lists, or use sslmode=verify-ca to check \
         only its issuer"
    )]
    CertificateForOtherHost { mode: SslMode, detail: String },
    #[error(
        "sslmode={mode}: the server's certificate was rejected: {detail} (trusted authorities: \
         {roots}, set with sslrootcert)"
    )]
    RejectedCertificate {
        mode: SslMode,
        roots: TrustRoots,
        detail: String,
    },
    #[error(transparent)]
    Driver(#[from] ::postgres::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(url: &str) -> (String, TlsSettings) {
        TlsSettings::take_from_url(url).expect("valid URL")
    }

    fn settings(mode: SslMode, root_cert: Option<TrustRoots>) -> TlsSettings {
        TlsSettings { mode, root_cert }
    }

    #[test]
    fn prefer_is_the_default() {
        assert_eq!(
            take("postgres://iota:secret@db:5432/iota"),
            (
                "postgres://iota:secret@db:5432/iota".into(),
                settings(SslMode::Prefer, None)
            )
        );
    }

    #[test]
    fn tls_parameters_are_taken_off_and_the_others_kept() {
        let (url, tls) = take(
            "postgres://iota:p%3Fw@db/iota?application_name=iota&sslmode=verify-full\
             &sslrootcert=%2Fetc%2Fssl%2Frds%20bundle.pem&connect_timeout=5",
        );
        assert_eq!(
            url,
            "postgres://iota:p%3Fw@db/iota?application_name=iota&connect_timeout=5"
        );
        assert_eq!(
            tls,
            settings(
                SslMode::VerifyFull,
                Some(TrustRoots::File("/etc/ssl/rds bundle.pem".into()))
            )
        );
        let (url, tls) = take("postgresql://db/iota?sslmode=require");
        assert_eq!(url, "postgresql://db/iota");
        assert_eq!(tls, settings(SslMode::Require, None));
    }

    #[test]
    fn a_question_mark_in_the_password_does_not_start_the_query() {
        let (url, tls) = take("postgres://iota:a?b@db/iota?sslmode=disable");
        assert_eq!(url, "postgres://iota:a?b@db/iota");
        assert_eq!(tls, settings(SslMode::Disable, None));
    }

    #[test]
    fn system_roots_mean_verify_full() {
        assert_eq!(
            take("postgres://db/iota?sslrootcert=system").1,
            settings(SslMode::VerifyFull, Some(TrustRoots::Platform))
        );
        for weaker in ["require", "verify-ca", "prefer"] {
            let url = format!("postgres://db/iota?sslmode={weaker}&sslrootcert=system");
            let error = TlsSettings::take_from_url(&url).unwrap_err();
            assert!(
                error.to_string().contains("needs sslmode=verify-full"),
                "{error}"
            );
        }
    }

    #[test]
    fn unknown_modes_are_refused_by_name() {
        let error = TlsSettings::take_from_url("postgres://u:secret@db/iota?sslmode=allow")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("sslmode=\"allow\" is not supported"),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn require_checks_the_issuer_only_with_sslrootcert() {
        assert!(matches!(
            settings(SslMode::Require, None).verification(),
            Verification::None
        ));
        assert!(matches!(
            settings(SslMode::Require, Some(TrustRoots::File("ca.pem".into()))).verification(),
            Verification::Issuer(TrustRoots::File(_))
        ));
        assert!(matches!(
            settings(SslMode::VerifyCa, None).verification(),
            Verification::Issuer(TrustRoots::Platform)
        ));
        assert!(matches!(
            settings(SslMode::VerifyFull, None).verification(),
            Verification::IssuerAndHost(TrustRoots::Platform)
        ));
    }

    #[test]
    fn an_unusable_sslrootcert_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = settings(SslMode::VerifyFull, Some(TrustRoots::File(missing.clone())))
            .connector()
            .err()
            .expect("a missing file is an error")
            .to_string();
        assert!(
            error.starts_with(&format!(
                "cannot read sslrootcert file {}",
                missing.display()
            )),
            "{error}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = settings(SslMode::VerifyCa, Some(TrustRoots::File(empty.clone())))
            .connector()
            .err()
            .expect("a file without certificates is an error")
            .to_string();
        assert_eq!(
            error,
            format!(
                "sslrootcert file {} holds no PEM certificate",
                empty.display()
            )
        );
    }
}
