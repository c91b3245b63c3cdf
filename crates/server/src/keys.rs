//! The encryption key: from configuration, or kept in a key file beside the database (generated
//! on first start in sandbox mode).

use std::path::{Path, PathBuf};

use anyhow::Context;
use openiav_core::crypto::MasterKey;

/// The key file a database uses when none is configured.
pub fn default_key_file(database_url: &str) -> PathBuf {
    if let Some(rest) = database_url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//").split('?').next().unwrap_or("openiav.db");
        if !path.is_empty() && path != ":memory:" {
            return Path::new(path).with_extension("key");
        }
    }
    PathBuf::from("openiav.key")
}

/// Loads the master key: the configured hex key, else the key file, else a new key written to
/// the key file (owner-only permissions).
pub fn load_or_create(
    configured: Option<&str>,
    key_file: Option<&Path>,
    database_url: &str,
) -> anyhow::Result<MasterKey> {
    if let Some(hex) = configured {
        return MasterKey::from_hex(hex).context("OPENIAV_ENCRYPTION_KEY must be 64 hex characters (32 bytes)");
    }
    let path = key_file.map(Path::to_path_buf).unwrap_or_else(|| default_key_file(database_url));
    if path.exists() {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("reading the key file {}", path.display()))?;
        return MasterKey::from_hex(&text)
            .with_context(|| format!("the key file {} does not hold a 64-hex-character key", path.display()));
    }
    let key = MasterKey::generate();
    write_private(&path, &key.to_hex()).with_context(|| format!("writing a new key file {}", path.display()))?;
    tracing::info!(key.file = %path.display(), "generated a new encryption key; keep this file with the database");
    Ok(key)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_sits_beside_the_sqlite_file() {
        assert_eq!(default_key_file("sqlite://openiav.db"), PathBuf::from("openiav.key"));
        assert_eq!(default_key_file("sqlite:///var/lib/x/data.db?mode=rwc"), PathBuf::from("/var/lib/x/data.key"));
        assert_eq!(default_key_file("postgres://h/db"), PathBuf::from("openiav.key"));
    }

    #[test]
    fn a_generated_key_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let a = load_or_create(None, Some(&path), "sqlite://x.db").unwrap();
        let b = load_or_create(None, Some(&path), "sqlite://x.db").unwrap();
        assert_eq!(a.to_hex(), b.to_hex());
    }
}
