//! The local CA and the vendor hosts' certificate: made once in a directory, reused on later
//! starts (the certificate is issued again only when it no longer covers the hosts or is near
//! its end), private keys written owner-only, and files replaced atomically so that two
//! processes starting together end up with one CA.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::RootCertStore;

/// The CA certificate clients trust (`NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`, the OS store).
pub const CA_FILE: &str = "openiav-ca.pem";
/// The CA's private key followed by its certificate (owner-only).
pub const CA_KEY_FILE: &str = "openiav-ca.key";
/// The hosts' private key followed by their certificate and the CA's (owner-only).
pub const HOSTS_KEY_FILE: &str = "openiav-vendor-hosts.key";

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Within what Apple's and the browsers' limits for a server certificate accept.
const HOSTS_CERT_LIFETIME: Duration = Duration::from_secs(397 * 24 * 60 * 60);
/// How long before its end a host certificate is issued again.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// What the TLS listener serves and what clients trust.
pub struct Material {
    /// The CA certificate file to trust.
    pub ca_file: PathBuf,
    /// The CA certificate.
    pub ca: CertificateDer<'static>,
    /// The hosts' certificate followed by the CA's.
    pub chain: Vec<CertificateDer<'static>>,
    /// The hosts' private key.
    pub key: PrivateKeyDer<'static>,
    /// Whether this call made the CA (else it was there).
    pub made_ca: bool,
    /// Whether this call issued the hosts' certificate (else it was reused).
    pub issued: bool,
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material").field("ca_file", &self.ca_file).field("key", &"<redacted>").finish()
    }
}

/// The CA and the certificate for `hosts` in `dir`: the ones there when they are sound and
/// cover `hosts`, else new ones (a new CA only when there is none).
pub fn ensure(dir: &Path, hosts: &[&str]) -> anyhow::Result<Material> {
    if hosts.is_empty() {
        bail!("a certificate needs at least one host");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca = load_or_create_ca(dir)?;
    let ca_file = dir.join(CA_FILE);
    if std::fs::read_to_string(&ca_file).ok().as_deref() != Some(ca.cert_pem.as_str()) {
        replace(&ca_file, ca.cert_pem.as_bytes(), false).with_context(|| format!("writing {}", ca_file.display()))?;
    }
    let hosts_file = dir.join(HOSTS_KEY_FILE);
    let now = SystemTime::now();
    let reusable = read_private(&hosts_file)?
        .and_then(|text| parse_bundle(&text).ok())
        .filter(|(_, chain)| covers(&ca.cert, chain, hosts, now + RENEW_BEFORE));
    let issued = reusable.is_none();
    let (key, chain) = match reusable {
        Some(found) => found,
        None => {
            let text = issue_hosts_cert(&ca, hosts, now)?;
            replace(&hosts_file, text.as_bytes(), true).with_context(|| format!("writing {}", hosts_file.display()))?;
            let issued = parse_bundle(&text)?;
            if !covers(&ca.cert, &issued.1, hosts, now) {
                bail!(
                "the certificate just issued does not verify against {} (a CA made for fewer hosts? remove {} and {} to make a new one)",
                ca_file.display(),
                CA_FILE,
                CA_KEY_FILE
            );
            }
            issued
        }
    };
    Ok(Material { ca_file, ca: ca.cert, chain, key, made_ca: ca.made, issued })
}

/// The CA: its key pair, certificate and the certificate's PEM text.
struct Ca {
    key: KeyPair,
    cert: CertificateDer<'static>,
    cert_pem: String,
    /// Made by this call.
    made: bool,
}

fn load_or_create_ca(dir: &Path) -> anyhow::Result<Ca> {
    let path = dir.join(CA_KEY_FILE);
    if let Some(text) = read_private(&path)? {
        return parse_ca(&text).with_context(|| format!("{} does not hold a CA key and certificate", path.display()));
    }
    let key = KeyPair::generate().context("generating the CA key")?;
    let now = SystemTime::now();
    let mut params = ca_params(&key);
    params.not_before = (now - DAY).into();
    params.not_after = (now + CA_LIFETIME).into();
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: super::HOSTS.iter().map(|h| GeneralSubtree::DnsName(h.name.to_owned())).collect(),
        excluded_subtrees: Vec::new(),
    });
    let cert = params.self_signed(&key).context("signing the CA certificate")?;
    let text = format!("{}{}", key.serialize_pem(), cert.pem());
    // Another process may have made one meanwhile: the first to link its file wins.
    match create_new(&path, text.as_bytes()) {
        Ok(()) => parse_ca(&text).map(|ca| Ca { made: true, ..ca }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = read_private(&path)?.context("the CA file vanished")?;
            parse_ca(&text)
        }
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

/// What a CA certificate says of its subject, derived from its key alone so that a loaded CA
/// issues exactly as the one that was generated.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let digest = Sha256::digest(key.public_key_raw());
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("openiav local CA {}", hex::encode(&digest[..4])));
    dn.push(DnType::OrganizationName, "openiav");
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn parse_ca(text: &str) -> anyhow::Result<Ca> {
    let key_der = PrivateKeyDer::from_pem_slice(text.as_bytes()).context("no private key")?;
    let key = KeyPair::try_from(&key_der).context("an unusable private key")?;
    let at = text.find("-----BEGIN CERTIFICATE-----").context("no certificate")?;
    let cert_pem = text[at..].to_owned();
    let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).context("an unreadable certificate")?;
    Ok(Ca { key, cert, cert_pem, made: false })
}

/// A private key followed by a certificate chain.
fn parse_bundle(text: &str) -> anyhow::Result<(PrivateKeyDer<'static>, Vec<CertificateDer<'static>>)> {
    let key = PrivateKeyDer::from_pem_slice(text.as_bytes()).context("no private key")?;
    let chain = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("an unreadable certificate")?;
    if chain.is_empty() {
        bail!("no certificate");
    }
    Ok((key, chain))
}

/// A new key and certificate for `hosts`, signed by the CA: the PEM bundle (key, certificate,
/// CA certificate).
fn issue_hosts_cert(ca: &Ca, hosts: &[&str], now: SystemTime) -> anyhow::Result<String> {
    let key = KeyPair::generate().context("generating the hosts' key")?;
    let mut params =
        CertificateParams::new(hosts.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()).context("the host names")?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, hosts[0]);
    dn.push(DnType::OrganizationName, "openiav");
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = (now - DAY).into();
    params.not_after = (now + HOSTS_CERT_LIFETIME).into();
    let issuer = Issuer::new(ca_params(&ca.key), &ca.key);
    let cert = params.signed_by(&key, &issuer).context("signing the hosts' certificate")?;
    Ok(format!("{}{}{}", key.serialize_pem(), cert.pem(), ca.cert_pem))
}

/// Whether `chain` is a certificate the CA signed that every one of `hosts` verifies at `at`.
pub fn covers(ca: &CertificateDer<'static>, chain: &[CertificateDer<'static>], hosts: &[&str], at: SystemTime) -> bool {
    let mut roots = RootCertStore::empty();
    if roots.add(ca.clone()).is_err() {
        return false;
    }
    let Ok(verifier) =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::new(ring::default_provider())).build()
    else {
        return false;
    };
    let Some((leaf, rest)) = chain.split_first() else { return false };
    let at = UnixTime::since_unix_epoch(at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default());
    hosts.iter().all(|host| {
        ServerName::try_from(*host).is_ok_and(|name| verifier.verify_server_cert(leaf, rest, &name, &[], at).is_ok())
    })
}

/// The file's text, `None` when there is none; an owner-only file stays so (and one that is not
/// is made so).
fn read_private(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            restrict(path).with_context(|| format!("restricting {} to its owner", path.display()))?;
            Ok(Some(text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode != 0o600 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// A complete temporary file beside `path` (owner-only when `private`).
fn temporary(path: &Path, contents: &[u8], private: bool) -> std::io::Result<PathBuf> {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts.open(&tmp)?;
    let written = f.write_all(contents).and_then(|()| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Writes `path` whole, replacing what was there.
fn replace(path: &Path, contents: &[u8], private: bool) -> std::io::Result<()> {
    let tmp = temporary(path, contents, private)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Writes an owner-only `path` whole unless it exists (`AlreadyExists`).
fn create_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = temporary(path, contents, true)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &[&str] = &["api-sandbox.dwolla.com", "int-api.mx.com"];

    #[test]
    fn a_second_call_reuses_the_ca_and_the_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure(dir.path(), HOSTS).unwrap();
        let hosts_file = std::fs::read(dir.path().join(HOSTS_KEY_FILE)).unwrap();
        let second = ensure(dir.path(), HOSTS).unwrap();
        assert_eq!(first.ca, second.ca);
        assert_eq!(first.chain, second.chain);
        assert_eq!(hosts_file, std::fs::read(dir.path().join(HOSTS_KEY_FILE)).unwrap());
        assert!(covers(&first.ca, &first.chain, HOSTS, SystemTime::now()));
    }

    #[test]
    fn processes_starting_together_keep_one_ca() {
        let dir = tempfile::tempdir().unwrap();
        let made: Vec<Material> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|_| s.spawn(|| ensure(dir.path(), HOSTS).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(made.iter().filter(|m| m.made_ca).count(), 1, "one of them made the CA");
        let on_disk = std::fs::read_to_string(dir.path().join(CA_FILE)).unwrap();
        let ca = CertificateDer::from_pem_slice(on_disk.as_bytes()).unwrap();
        for m in &made {
            assert_eq!(m.ca, ca, "every one serves under the CA on disk");
            assert!(covers(&ca, &m.chain, HOSTS, SystemTime::now()));
        }
    }

    #[test]
    fn a_certificate_that_misses_a_host_is_issued_again_by_the_same_ca() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure(dir.path(), &HOSTS[..1]).unwrap();
        assert!(!covers(&first.ca, &first.chain, HOSTS, SystemTime::now()));
        let second = ensure(dir.path(), HOSTS).unwrap();
        assert_eq!(first.ca, second.ca);
        assert_ne!(first.chain[0], second.chain[0]);
        assert!(covers(&second.ca, &second.chain, HOSTS, SystemTime::now()));
    }

    #[test]
    fn a_certificate_near_its_end_is_renewed_and_other_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let m = ensure(dir.path(), HOSTS).unwrap();
        let now = SystemTime::now();
        assert!(covers(&m.ca, &m.chain, HOSTS, now + RENEW_BEFORE));
        assert!(!covers(&m.ca, &m.chain, HOSTS, now + HOSTS_CERT_LIFETIME + DAY));
        assert!(!covers(&m.ca, &m.chain, &["example.com"], now));
    }

    #[test]
    fn the_ca_cannot_vouch_for_other_hosts() {
        let dir = tempfile::tempdir().unwrap();
        ensure(dir.path(), HOSTS).unwrap();
        let text = std::fs::read_to_string(dir.path().join(CA_KEY_FILE)).unwrap();
        let ca = parse_ca(&text).unwrap();
        let bundle = issue_hosts_cert(&ca, &["example.com"], SystemTime::now()).unwrap();
        let (_, chain) = parse_bundle(&bundle).unwrap();
        assert!(!covers(&ca.cert, &chain, &["example.com"], SystemTime::now()), "name constraints hold");
    }
}
