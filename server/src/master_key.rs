//! The master key that wraps encrypted tables' data keys: given in base64
//! (`--master-key`, `KEYFALL_MASTER_KEY`), in a file (`--master-key-file`: 32 raw bytes or
//! base64), or else generated once into `master.key` in the data dir (mode 0600). Previous
//! keys (`--previous-master-key-file`, repeatable) still unwrap: at start, data keys
//! wrapped by them are re-wrapped by the current one (rotation).

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::engine::encryption::{parse_master_key, KeyProvider, MasterKeys};
use crate::server::ServerError;

const FILE_NAME: &str = "master.key";

fn read_key(path: &Path) -> Result<Vec<u8>, ServerError> {
    let content = std::fs::read(path)
        .map_err(|e| ServerError::Config(format!("master key file {}: {e}", path.display())))?;
    parse_master_key(&content)
        .map_err(|e| ServerError::Config(format!("master key file {}: {e}", path.display())))
}

/// The key provider the engine wraps data keys with.
pub fn key_provider(config: &Config) -> Result<Arc<dyn KeyProvider>, ServerError> {
    let current = match (&config.master_key, &config.master_key_file) {
        (Some(text), _) => parse_master_key(text.as_bytes())
            .map_err(|e| ServerError::Config(format!("--master-key: {e}")))?,
        (None, Some(path)) => read_key(path)?,
        (None, None) => {
            let path = config.data_dir.join(FILE_NAME);
            match std::fs::metadata(&path) {
                Ok(_) => read_key(&path)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let key = MasterKeys::generate();
                    use base64::Engine as _;
                    let text = base64::engine::general_purpose::STANDARD.encode(&key);
                    keyfall_auth::write_private_file(&path, &text).map_err(|e| {
                        ServerError::Config(format!("master key file {}: {e}", path.display()))
                    })?;
                    key
                }
                Err(e) => {
                    return Err(ServerError::Config(format!(
                        "master key file {}: {e}",
                        path.display()
                    )))
                }
            }
        }
    };
    let previous = config
        .previous_master_key_files
        .iter()
        .map(|p| read_key(p))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = MasterKeys::new(&current, &previous)
        .map_err(|e| ServerError::Config(format!("master key: {e}")))?;
    Ok(Arc::new(keys))
}
