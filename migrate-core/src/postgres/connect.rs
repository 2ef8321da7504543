//! Connecting to PostgreSQL the way libpq does, TLS included: `sslmode`
//! (`disable`, `allow`, `prefer` — the default —, `require`, `verify-ca`,
//! `verify-full`) and `sslrootcert`, from the connection string or else
//! `PGSSLMODE` and `PGSSLROOTCERT`.
//!
//! TLS is rustls (no system OpenSSL). As in libpq: `prefer` and `require`
//! encrypt without checking who answers, except that `require` checks the
//! chain like `verify-ca` when a root certificate file is there;
//! `verify-ca` checks the chain; `verify-full` the chain and the host name.
//! The roots are the `sslrootcert` file when one is given (`system`: the
//! platform's), else `~/.postgresql/root.crt` when it exists, else the
//! platform's roots (libpq 16's `sslrootcert=system`, which is what a
//! hosted database's publicly signed certificate needs).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode as CrateMode;
use postgres::{Client, Config, NoTls};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::conninfo;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// Plain first; TLS if the server asks for it.
    Allow,
    /// TLS if the server offers it, else plain (libpq's default).
    Prefer,
    /// TLS, the server's certificate not checked (but see `verify-ca`).
    Require,
    /// TLS, the certificate's chain checked against the roots.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// Why a connection string cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The string does not parse (the password left out of the message).
    #[error("{0}")]
    Parse(String),
    /// `sslmode` has a value libpq does not know.
    #[error("sslmode `{0}` is not one of disable, allow, prefer, require, verify-ca, verify-full")]
    SslMode(String),
    /// The root certificate file cannot be read, or holds no certificate.
    #[error("sslrootcert {path}: {why}")]
    RootCert {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(String),
}

/// A parsed connection string with its TLS settings, ready to connect (as
/// many times as needed: the runner's lock connection is a second one).
#[derive(Clone)]
pub struct Connector {
    config: Config,
    mode: SslMode,
    /// Where the roots came from, for messages.
    roots: String,
    tls: Option<MakeRustlsConnect>,
    /// `allow`'s second try, and `prefer`'s: TLS without checks.
    unchecked: Option<MakeRustlsConnect>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("config", &self.config)
            .field("mode", &self.mode)
            .field("roots", &self.roots)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Reads `conninfo` (a `postgres://` URL or `key=value` pairs), with
    /// `PGSSLMODE` and `PGSSLROOTCERT` from the environment where the string
    /// has no `sslmode` or `sslrootcert`.
    pub fn new(conninfo: &str) -> Result<Connector, ConnectError> {
        Connector::with_env(conninfo, |name| std::env::var(name).ok())
    }

    /// [`Connector::new`], the environment read through `env`.
    pub fn with_env(
        conninfo: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Connector, ConnectError> {
        let (rest, taken) =
            conninfo::take(conninfo, &["sslmode", "sslrootcert"]).ok_or_else(|| {
                ConnectError::Parse("invalid connection string: a quote or `=` is missing".into())
            })?;
        let given = |key: &str| {
            taken
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let mode_text = given("sslmode")
            .or_else(|| env("PGSSLMODE"))
            .unwrap_or_else(|| "prefer".into());
        let mode = SslMode::parse(&mode_text).ok_or(ConnectError::SslMode(mode_text))?;
        let rootcert = given("sslrootcert").or_else(|| env("PGSSLROOTCERT"));
        let mut config: Config = rest
            .parse()
            // The crate's messages name the option, never its value.
            .map_err(|e: postgres::Error| ConnectError::Parse(client_error(e)))?;
        // Named in pg_stat_activity (and in the lock-wait error another
        // runner prints), unless the string names it.
        if config.get_application_name().is_none() {
            config.application_name("migrate");
        }
        // As libpq: `sslmode` is ignored for Unix-domain sockets, which the
        // server never encrypts.
        let sockets_only = !config.get_hosts().is_empty()
            && config
                .get_hosts()
                .iter()
                .all(|h| !matches!(h, postgres::config::Host::Tcp(_)));
        let mode = if sockets_only { SslMode::Disable } else { mode };
        config.ssl_mode(match mode {
            SslMode::Disable | SslMode::Allow => CrateMode::Disable,
            SslMode::Prefer => CrateMode::Prefer,
            _ => CrateMode::Require,
        });
        // ring builds with a C compiler alone (aws-lc-rs wants cmake);
        // rustls deprecates it for its lack of post-quantum key exchange,
        // which PostgreSQL servers do not ask for.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let unchecked = make(&provider, Arc::new(Unchecked(provider.clone())))?;
        // libpq's default root file, and `require` turning into
        // `verify-ca` when there is one.
        let default_file = env("HOME")
            .map(|h| Path::new(&h).join(".postgresql/root.crt"))
            .filter(|p| p.is_file());
        let check = match mode {
            SslMode::VerifyCa | SslMode::VerifyFull => true,
            SslMode::Require => rootcert.is_some() || default_file.is_some(),
            _ => false,
        };
        let (tls, roots) = if check {
            let (store, roots) = root_store(rootcert.as_deref(), default_file)?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                    .build()
                    .map_err(|e| ConnectError::Tls(e.to_string()))?;
            let verifier: Arc<dyn ServerCertVerifier> = if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            };
            (Some(make(&provider, verifier)?), roots)
        } else {
            (Some(unchecked.clone()), String::new())
        };
        Ok(Connector {
            config,
            mode,
            roots,
            tls: (mode != SslMode::Disable).then_some(tls).flatten(),
            unchecked: Some(unchecked),
        })
    }

    /// The parsed settings (host, user, …; the password is kept, not shown
    /// by `Debug`).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The same server and settings, connecting to database `name`.
    pub(crate) fn with_dbname(&self, name: &str) -> Connector {
        let mut other = self.clone();
        other.config.dbname(name);
        other
    }

    /// The `sslmode` in force.
    pub fn ssl_mode(&self) -> SslMode {
        self.mode
    }

    /// Opens a connection.
    pub fn connect(&self) -> Result<Client, postgres::Error> {
        match (self.mode, &self.tls) {
            (SslMode::Disable, _) | (_, None) => self.config.connect(NoTls),
            (SslMode::Allow, _) => self.config.connect(NoTls).or_else(|_| {
                let mut tls = self.config.clone();
                tls.ssl_mode(CrateMode::Require);
                tls.connect(self.unchecked.clone().expect("always made"))
            }),
            (_, Some(tls)) => self.config.connect(tls.clone()),
        }
    }

    /// What to tell a user whose connection failed in the TLS handshake,
    /// if it did: why, in the terms of `sslmode` and `sslrootcert`.
    pub fn explain(&self, e: &postgres::Error) -> Option<String> {
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            if let Some(tls) = s.downcast_ref::<rustls::Error>() {
                return Some(self.explain_tls(tls));
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>()
                && let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
            {
                return Some(self.explain_tls(tls));
            }
            source = s.source();
        }
        None
    }

    fn explain_tls(&self, e: &rustls::Error) -> String {
        let host = self
            .config
            .get_hosts()
            .iter()
            .find_map(|h| match h {
                postgres::config::Host::Tcp(name) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_default();
        match e {
            rustls::Error::InvalidCertificate(c) if not_for_name(c) => format!(
                "the server's certificate is not for the host name `{host}` (sslmode=verify-full checks it: \
                 connect by the name the certificate was made for, or use sslmode=verify-ca, which checks \
                 only who signed it)"
            ),
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
                "the server's certificate is not signed by a trusted authority ({}); give the CA that signed it \
                 with sslrootcert=FILE (hosted databases publish theirs: RDS, Cloud SQL, Azure)",
                self.roots
            ),
            rustls::Error::InvalidCertificate(c) => {
                format!("the server's certificate was refused: {c:?}")
            }
            other => format!("the TLS handshake failed: {other}"),
        }
    }
}

/// The client's message with its causes ("invalid connection string:
/// invalid value for option `port`").
fn client_error(e: postgres::Error) -> String {
    super::PgFailure::from(e).message
}

fn not_for_name(c: &CertificateError) -> bool {
    matches!(
        c,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
    )
}

fn make(
    provider: &Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<MakeRustlsConnect, ConnectError> {
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The roots to check against, and where they came from (for messages).
fn root_store(
    rootcert: Option<&str>,
    default_file: Option<PathBuf>,
) -> Result<(RootCertStore, String), ConnectError> {
    let mut store = RootCertStore::empty();
    let file = match rootcert {
        Some("system") => None,
        Some(path) => Some(PathBuf::from(path)),
        None => default_file,
    };
    let Some(path) = file else {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(ConnectError::Tls(
                "no root certificates found on this system; give the CA with sslrootcert=FILE"
                    .into(),
            ));
        }
        return Ok((store, "the platform's root certificates".into()));
    };
    let bad = |why: String| ConnectError::RootCert {
        path: path.clone(),
        why,
    };
    let certs = CertificateDer::pem_file_iter(&path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok((store, format!("sslrootcert {}", path.display())))
}

/// `prefer` and `require` without a root file: encryption, no check of
/// who answers (as libpq). Handshake signatures are still verified.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain checked as `verify-full` checks it, the host
/// name not (webpki checks the name last, after the chain).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(c)) if not_for_name(&c) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
