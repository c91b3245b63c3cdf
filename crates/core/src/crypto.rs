//! Secrets at rest: AEAD encryption with a key id, keyed fingerprints, token hashing and minting.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Errors from decrypting stored data or loading key material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext was made with key id {0}, which this keyring does not hold")]
    UnknownKey(u8),
    #[error("ciphertext is malformed or was tampered with")]
    Corrupt,
    #[error("key material must be 32 bytes written as 64 hex characters")]
    BadKeyMaterial,
}

/// The 32-byte master key from configuration. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self(k)
    }

    pub fn from_hex(s: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(s.trim()).map_err(|_| CryptoError::BadKeyMaterial)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKeyMaterial)?;
        Ok(Self(arr))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0).expect("hmac takes any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

/// Encrypts and fingerprints with keys derived from one master key.
///
/// Ciphertext layout: `key_id (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext+tag`.
/// The caller's `context` (for example `tenant/member/credentials`) is bound as associated
/// data, so a ciphertext copied onto another row fails to decrypt.
#[derive(Clone)]
pub struct Keyring {
    key_id: u8,
    cipher: Aes256Gcm,
    fingerprint_key: [u8; 32],
}

impl Keyring {
    pub fn new(master: &MasterKey) -> Self {
        let enc = master.derive("openiav/aead/v1");
        Self {
            key_id: 1,
            cipher: Aes256Gcm::new_from_slice(&enc).expect("32-byte key"),
            fingerprint_key: master.derive("openiav/fingerprint/v1"),
        }
    }

    pub fn encrypt(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(13 + ct.len());
        out.push(self.key_id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn decrypt(&self, context: &str, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (&key_id, rest) = blob.split_first().ok_or(CryptoError::Corrupt)?;
        if key_id != self.key_id {
            return Err(CryptoError::UnknownKey(key_id));
        }
        if rest.len() < 12 + 16 {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ct) = rest.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: context.as_bytes() })
            .map_err(|_| CryptoError::Corrupt)
    }

    /// A keyed HMAC-SHA256 fingerprint (hex), for equality lookups on low-entropy secrets
    /// such as account numbers or credentials, which a plain hash would not protect.
    pub fn fingerprint(&self, parts: &[&str]) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.fingerprint_key).expect("any key length");
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring(key_id={})", self.key_id)
    }
}

/// SHA-256 (hex) of a high-entropy token or API secret; only this is stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares a presented token with a stored hash in constant time.
pub fn token_matches(presented: &str, stored_hash: &str) -> bool {
    hash_token(presented).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// A random token: `bytes` of entropy written as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A random URL-safe token with 256 bits of entropy.
pub fn random_url_token() -> String {
    use base64::Engine;
    let mut buf = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_binds_context() {
        let ring = Keyring::new(&MasterKey::generate());
        let blob = ring.encrypt("t1/MBR-1/credentials", b"mxuser:password");
        assert_eq!(ring.decrypt("t1/MBR-1/credentials", &blob).unwrap(), b"mxuser:password");
        assert!(ring.decrypt("t1/MBR-2/credentials", &blob).is_err());
        assert!(!blob.windows(8).any(|w| w == b"password"));
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let ring = Keyring::new(&MasterKey::generate());
        let mut blob = ring.encrypt("c", b"secret");
        let last = blob.len() - 1;
        blob[last] ^= 1;
        assert!(matches!(ring.decrypt("c", &blob), Err(CryptoError::Corrupt)));
    }

    #[test]
    fn fingerprints_are_keyed_and_unambiguous() {
        let a = Keyring::new(&MasterKey::generate());
        let b = Keyring::new(&MasterKey::generate());
        assert_eq!(a.fingerprint(&["1", "23"]), a.fingerprint(&["1", "23"]));
        assert_ne!(a.fingerprint(&["1", "23"]), a.fingerprint(&["12", "3"]));
        assert_ne!(a.fingerprint(&["1"]), b.fingerprint(&["1"]));
    }

    #[test]
    fn token_hash_matches_only_the_token() {
        let t = random_url_token();
        let h = hash_token(&t);
        assert!(token_matches(&t, &h));
        assert!(!token_matches("other", &h));
    }

    #[test]
    fn master_key_debug_is_redacted() {
        let k = MasterKey::generate();
        assert_eq!(format!("{k:?}"), "MasterKey(***)");
        assert_eq!(MasterKey::from_hex(&k.to_hex()).unwrap().to_hex(), k.to_hex());
    }
}
