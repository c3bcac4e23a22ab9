//! The agent's long-term Ed25519 key, created on first start and kept in the platform
//! data directory (`~/.local/share/lifeline-agent` on Linux), readable by its owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use lifeline_protocol::KeyPair;
use lifeline_protocol::certificate::self_signed_certificate;

/// File name of the key inside the data directory.
pub const KEY_FILE: &str = "identity.pk8";

/// The key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// No data directory could be determined.
    #[error("cannot find a data directory for the agent's key: set HOME or pass --data-dir")]
    NoDataDir,
    /// Reading or writing failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file exists but does not hold a key.
    #[error(
        "the key file {0} is damaged. Move it away to create a new identity \
         (technicians will then see a new fingerprint for this device)"
    )]
    Damaged(PathBuf),
    /// Crypto failure (random generator, certificate).
    #[error("cannot create the agent's identity: {0}")]
    Crypto(String),
}

/// The agent's key and the TLS certificate made from it.
#[derive(Debug)]
pub struct Identity {
    /// The key pair.
    pub key: KeyPair,
    /// Its self-signed certificate (DER).
    pub certificate_der: Vec<u8>,
}

/// The default data directory of the agent.
pub fn default_data_dir() -> Result<PathBuf, IdentityError> {
    directories::ProjectDirs::from("org", "Lifeline", "lifeline-agent")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or(IdentityError::NoDataDir)
}

/// Loads the key from `dir`, creating the directory and a new key on first use.
pub fn load_or_create(dir: &Path) -> Result<Identity, IdentityError> {
    let path = dir.join(KEY_FILE);
    let key = match std::fs::read(&path) {
        Ok(bytes) => {
            KeyPair::from_pkcs8(&bytes).map_err(|_| IdentityError::Damaged(path.clone()))?
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(dir, &path)?,
        Err(source) => {
            return Err(IdentityError::Io {
                action: "read",
                path,
                source,
            });
        }
    };
    let certificate_der =
        self_signed_certificate(&key).map_err(|err| IdentityError::Crypto(err.to_string()))?;
    Ok(Identity {
        key,
        certificate_der,
    })
}

fn create(dir: &Path, path: &Path) -> Result<KeyPair, IdentityError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| IdentityError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let key = KeyPair::generate().map_err(|err| IdentityError::Crypto(err.to_string()))?;
    // Write to a private temporary file, then rename: a crash never leaves half a key.
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(io("create", &temporary))?;
    file.write_all(key.to_pkcs8())
        .map_err(io("write", &temporary))?;
    file.sync_all().map_err(io("write", &temporary))?;
    std::fs::rename(&temporary, path).map_err(io("create", path))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.key.public_key(), again.key.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_key_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"garbage").unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        assert_eq!(
            std::fs::read(dir.path().join(KEY_FILE)).unwrap(),
            b"garbage"
        );
    }
}
