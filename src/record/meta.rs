//! What a results file was made from: the input's identity and the business unit, kept
//! beside it (`<results>.meta.json`) so a resume can refuse a changed input.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record::results::{RecordError, sync_dir, temp_beside};

/// Size and content hash of an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub size: u64,
    /// XXH3-128 of the whole file, hex.
    pub xxh3_128: String,
}

impl Fingerprint {
    /// Reads the whole file once, in fixed-size chunks.
    pub fn of(path: &Path) -> io::Result<Fingerprint> {
        let mut file = File::open(path)?;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
        }
        Ok(Fingerprint { size, xxh3_128: format!("{:032x}", hasher.digest128()) })
    }
}

/// The metadata of a results file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub tool: String,
    pub format: u32,
    /// The input file, as given.
    pub input: PathBuf,
    pub fingerprint: Fingerprint,
    pub business_unit_id: Option<String>,
    pub started_at: String,
}

impl Meta {
    pub fn new(input: &Path, fingerprint: Fingerprint, business_unit_id: Option<String>) -> Meta {
        Meta {
            tool: "tp-invite".to_string(),
            format: 1,
            input: input.to_path_buf(),
            fingerprint,
            business_unit_id,
            started_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    /// `<results>.meta.json`.
    pub fn path_for(results: &Path) -> PathBuf {
        let mut name = results.as_os_str().to_owned();
        name.push(".meta.json");
        PathBuf::from(name)
    }

    /// Reads the metadata of `results`, if there is any.
    pub fn read(results: &Path) -> Result<Option<Meta>, RecordError> {
        let path = Meta::path_for(results);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(io) => return Err(RecordError::Read { path, io }),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| RecordError::Corrupt {
            path,
            line: 1,
            problem: e.to_string(),
        })
    }

    /// Writes the metadata atomically and durably.
    pub fn write(&self, results: &Path) -> Result<(), RecordError> {
        let path = Meta::path_for(results);
        let error = |source: io::Error| RecordError::Write { path: path.clone(), io: source };
        let (mut file, temp) = temp_beside(&path)?;
        let json = serde_json::to_string_pretty(self).map_err(|e| error(e.into()))?;
        file.write_all(json.as_bytes()).map_err(error)?;
        file.write_all(b"\n").map_err(error)?;
        file.sync_data().map_err(error)?;
        drop(file);
        temp.persist(&path).map_err(|e| error(e.error))?;
        sync_dir(&path);
        Ok(())
    }

    /// Removes the metadata of `results` (when a dry run replaces a send's record).
    pub fn remove(results: &Path) {
        let _ = std::fs::remove_file(Meta::path_for(results));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_changes_with_content_and_meta_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "email\na@example.com\n").unwrap();
        let a = Fingerprint::of(&input).unwrap();
        std::fs::write(&input, "email\nb@example.com\n").unwrap();
        let b = Fingerprint::of(&input).unwrap();
        assert_eq!(a.size, b.size);
        assert_ne!(a, b);

        let results = dir.path().join("in.results.csv");
        assert_eq!(Meta::read(&results).unwrap(), None);
        let meta = Meta::new(&input, b, Some("bu".into()));
        meta.write(&results).unwrap();
        assert_eq!(Meta::read(&results).unwrap(), Some(meta));
        assert!(dir.path().join("in.results.csv.meta.json").exists());
    }
}
