//! Secret keys: taken from configuration, or generated once into `<data dir>/keys/` with
//! owner-only permissions. Never constants in the code, never logged.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

use crate::config::Settings;

pub struct Keys {
    pub jwt: Vec<u8>,
    pub data: [u8; 32],
    /// The Ed25519 seed that signs e-certificates.
    pub certificate: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("ONETHING_JWT_SECRET must be at least 32 characters")]
    ShortJwtSecret,
    #[error("{0} must be the base64 encoding of exactly 32 bytes")]
    BadDataKey(String),
    #[error("cannot read or create the key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl Keys {
    pub fn load(settings: &Settings) -> Result<Self, KeyError> {
        let dir = settings.data_dir.join("keys");
        let jwt = match &settings.jwt_secret {
            Some(s) if s.expose().len() < 32 => return Err(KeyError::ShortJwtSecret),
            Some(s) => s.expose().as_bytes().to_vec(),
            None => B64
                .decode(file_key(&dir.join("jwt.key"), 64)?)
                .map_err(|_| KeyError::BadDataKey("keys/jwt.key".into()))?,
        };
        let data_b64 = match &settings.data_key {
            Some(s) => s.expose().trim().to_owned(),
            None => file_key(&dir.join("data.key"), 32)?,
        };
        let data: [u8; 32] = B64
            .decode(&data_b64)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| KeyError::BadDataKey("the data key".into()))?;
        let certificate_b64 = match &settings.certificate_key {
            Some(s) => s.expose().trim().to_owned(),
            None => file_key(&dir.join("certificate.key"), 32)?,
        };
        let certificate: [u8; 32] = B64
            .decode(&certificate_b64)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| KeyError::BadDataKey("the certificate key".into()))?;
        Ok(Self {
            jwt,
            data,
            certificate,
        })
    }
}

/// Reads a base64 key file, creating it with `len` random bytes if it does not exist.
fn file_key(path: &Path, len: usize) -> Result<String, KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        return Ok(std::fs::read_to_string(path).map_err(io)?.trim().to_owned());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let encoded = B64.encode(&bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(encoded.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            tracing::info!(file = %path.display(), "generated a new key");
            Ok(encoded)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path).map_err(io)?.trim().to_owned())
        }
        Err(e) => Err(io(e)),
    }
}
