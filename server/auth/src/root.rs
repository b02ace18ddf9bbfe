//! The account's root credentials: configured, or generated once and kept in the data dir.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{write_private_file, SetupError};

const FILE_NAME: &str = "root-credentials.json";

#[derive(Clone, Serialize, Deserialize)]
pub struct RootCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(skip, default = "configured")]
    pub source: RootSource,
}

/// Secrets stay out of logs and panics.
impl std::fmt::Debug for RootCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("source", &self.source)
            .finish()
    }
}

fn configured() -> RootSource {
    RootSource::Configured
}

/// Where the root credentials came from; only freshly generated ones are printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    Configured,
    Generated(PathBuf),
    Stored(PathBuf),
}

/// Random access key material: `AKIA` + 16 base32 characters, and a 40-character secret
/// (the base64 of 30 random bytes: 6 random bits per character, no padding).
pub(crate) fn generate_key_pair(prefix: &str) -> (String, String) {
    use base64::Engine as _;
    // A v4 UUID's bytes 6 and 8 carry its version and variant bits; the other 14 are random.
    let random: Vec<u8> = (0..4)
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes().into_iter().enumerate())
        .filter(|&(i, _)| i != 6 && i != 8)
        .map(|(_, b)| b)
        .collect();
    // RFC 4648 base32 alphabet: A-Z then 2-7.
    let id: String = random
        .iter()
        .take(16)
        .map(|b| match b % 32 {
            x @ 0..=25 => char::from(b'A' + x),
            x => char::from(b'2' + (x - 26)),
        })
        .collect();
    let secret_bytes: Vec<u8> = random.iter().skip(16).take(30).copied().collect();
    let secret = base64::engine::general_purpose::STANDARD.encode(secret_bytes);
    (format!("{prefix}{id}"), secret)
}

/// Resolves the root credentials: the configured pair if any, else the pair stored in
/// `data_dir`, else a new pair written there (mode 0600).
pub fn root_credentials(
    data_dir: &Path,
    configured: Option<(String, String)>,
) -> Result<RootCredentials, SetupError> {
    if let Some((access_key_id, secret_access_key)) = configured {
        if access_key_id.is_empty() || secret_access_key.is_empty() {
            return Err(SetupError::Invalid(
                "root access key id and secret must both be non-empty".into(),
            ));
        }
        return Ok(RootCredentials {
            access_key_id,
            secret_access_key,
            source: RootSource::Configured,
        });
    }
    let path = data_dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut creds: RootCredentials = serde_json::from_str(&text)
                .map_err(|e| SetupError::Invalid(format!("{}: {e}", path.display())))?;
            creds.source = RootSource::Stored(path);
            Ok(creds)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (access_key_id, secret_access_key) = generate_key_pair("AKIA");
            let mut creds = RootCredentials {
                access_key_id,
                secret_access_key,
                source: RootSource::Generated(path.clone()),
            };
            let text =
                serde_json::to_string_pretty(&creds).map_err(|e| SetupError::Io(e.to_string()))?;
            write_private_file(&path, &text)
                .map_err(|e| SetupError::Io(format!("{}: {e}", path.display())))?;
            creds.source = RootSource::Generated(path);
            Ok(creds)
        }
        Err(e) => Err(SetupError::Io(format!("{}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = root_credentials(dir.path(), None).unwrap();
        assert!(matches!(first.source, RootSource::Generated(_)));
        assert!(first.access_key_id.starts_with("AKIA") && first.access_key_id.len() == 20);
        assert_eq!(first.secret_access_key.len(), 40);
        let again = root_credentials(dir.path(), None).unwrap();
        assert!(matches!(again.source, RootSource::Stored(_)));
        assert_eq!(again.access_key_id, first.access_key_id);
        assert_eq!(again.secret_access_key, first.secret_access_key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let configured =
            root_credentials(dir.path(), Some(("AKIDX".into(), "s3cr3t".into()))).unwrap();
        assert_eq!(configured.access_key_id, "AKIDX");
    }
}
