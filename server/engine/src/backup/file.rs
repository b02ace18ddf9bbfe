//! The on-disk form of a backup (and of a point-in-time-recovery base): a directory holding
//! `items.kfb` and `manifest.json`. Versioned, so a later Keyfall reads what an earlier one
//! wrote (readers accept every version up to [`FORMAT_VERSION`]).
//!
//! `items.kfb`, version 1:
//! ```text
//! "KFBKUP01"                                   8-byte magic
//! { u32 LE length, <length> bytes }*           one stored item each (`model::codec`)
//! u32 LE 0xFFFF_FFFF, u64 LE item count        end marker
//! ```
//! `manifest.json` says what the directory holds (the table's definition, counts, the xxh3
//! of `items.kfb`) and is written last, after the data file is synced and renamed into
//! place: a directory without a manifest is an interrupted write and is never read.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::error::{Error, Result};

pub const FORMAT: &str = "keyfall-backup";
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"KFBKUP01";
const END: u32 = u32::MAX;
pub const DATA_FILE: &str = "items.kfb";
pub const MANIFEST_FILE: &str = "manifest.json";
/// Bytes written between syncs of a data file.
const SYNC_EVERY: u64 = 8 << 20;

/// What the data file holds, to check it against when reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    pub file: String,
    pub items: u64,
    /// Sum of the items' DynamoDB sizes (what BackupSizeBytes reports).
    pub item_bytes: u64,
    pub file_bytes: u64,
    /// xxh3-64 of the whole data file, hex.
    pub xxh3: String,
    /// Present when the items are sealed (the table was encrypted at rest): each record
    /// is sealed with the table's data key, its index (u64 LE) as associated data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<DataEncryption>,
}

/// The data key the items are sealed with, wrapped, and the context it was wrapped for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataEncryption {
    pub key: crate::encryption::WrappedKey,
    pub context: String,
}

/// How a writer seals items: the cipher, and what the manifest records of it.
pub struct Sealing {
    pub cipher: std::sync::Arc<crate::encryption::Cipher>,
    pub about: DataEncryption,
}

/// `manifest.json`: the format, what the caller records (`T`: a backup's record, or a
/// point-in-time-recovery base's), then the data file. (Nested rather than flattened:
/// serde's flatten cannot read numbers under serde_json's `arbitrary_precision`.)
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest<T> {
    pub format: String,
    pub version: u32,
    #[serde(rename = "backup")]
    pub content: T,
    pub data: DataSummary,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("backup file {}: {e}", path.display()))
}

/// Writes a data file item by item; [`ItemWriter::finish`] syncs it and names it.
pub struct ItemWriter {
    dir: PathBuf,
    out: BufWriter<std::fs::File>,
    hash: Xxh3,
    summary: DataSummary,
    cipher: Option<std::sync::Arc<crate::encryption::Cipher>>,
}

impl ItemWriter {
    /// Creates `dir` (and its parents) and starts `items.kfb` there, sealing the items
    /// when `sealing` says how.
    pub fn create(dir: &Path, sealing: Option<Sealing>) -> Result<ItemWriter> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let partial = dir.join(format!("{DATA_FILE}.partial"));
        let file = std::fs::File::create(&partial).map_err(|e| io(&partial, e))?;
        let mut w = ItemWriter {
            dir: dir.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            hash: Xxh3::new(),
            summary: DataSummary {
                file: DATA_FILE.into(),
                encryption: sealing.as_ref().map(|s| s.about.clone()),
                ..DataSummary::default()
            },
            cipher: sealing.map(|s| s.cipher),
        };
        w.write(MAGIC)?;
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.hash.update(bytes);
        let before = self.summary.file_bytes;
        self.summary.file_bytes += bytes.len() as u64;
        let dir = self.dir.clone();
        self.out.write_all(bytes).map_err(|e| io(&dir, e))?;
        // Synced as it goes: a backup never piles up enough dirty pages for the kernel to
        // throttle every writer on the machine (the journal's included) while it flushes.
        if before / SYNC_EVERY != self.summary.file_bytes / SYNC_EVERY {
            self.out.flush().map_err(|e| io(&dir, e))?;
            self.out.get_ref().sync_data().map_err(|e| io(&dir, e))?;
        }
        Ok(())
    }

    /// Appends one stored item (its `model::codec` bytes) of DynamoDB size `size`.
    pub fn item(&mut self, stored: &[u8], size: u64) -> Result<()> {
        let sealed;
        let stored = match &self.cipher {
            Some(c) => {
                sealed = c.seal(&self.summary.items.to_le_bytes(), stored)?;
                sealed.as_slice()
            }
            None => stored,
        };
        let len = u32::try_from(stored.len())
            .ok()
            .filter(|l| *l != END)
            .ok_or_else(|| Error::Internal("an item too large for a backup record".into()))?;
        self.write(&len.to_le_bytes())?;
        self.write(stored)?;
        self.summary.items += 1;
        self.summary.item_bytes += size;
        Ok(())
    }

    /// Ends the file, syncs it and renames it into place; returns what it holds.
    pub fn finish(mut self) -> Result<DataSummary> {
        self.write(&END.to_le_bytes())?;
        let count = self.summary.items;
        self.write(&count.to_le_bytes())?;
        let dir = self.dir.clone();
        let file = self
            .out
            .into_inner()
            .map_err(|e| io(&dir, e.into_error()))?;
        file.sync_all().map_err(|e| io(&dir, e))?;
        let partial = dir.join(format!("{DATA_FILE}.partial"));
        std::fs::rename(&partial, dir.join(DATA_FILE)).map_err(|e| io(&partial, e))?;
        self.summary.xxh3 = format!("{:016x}", self.hash.digest());
        Ok(self.summary)
    }
}

/// Writes `manifest.json` atomically (a temporary file renamed over it) and syncs the
/// directory, which makes the backup complete.
pub fn write_manifest<T: Serialize>(dir: &Path, manifest: &Manifest<T>) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(manifest).map_err(|e| Error::Internal(e.to_string()))?;
    let tmp = dir.join(format!("{MANIFEST_FILE}.partial"));
    let mut file = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
    file.write_all(&bytes).map_err(|e| io(&tmp, e))?;
    file.sync_all().map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, dir.join(MANIFEST_FILE)).map_err(|e| io(&tmp, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads `manifest.json` of a complete backup directory.
pub fn read_manifest<T: for<'de> Deserialize<'de>>(dir: &Path) -> Result<Manifest<T>> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
    let manifest: Manifest<T> = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Internal(format!("backup manifest {}: {e}", path.display())))?;
    if manifest.format != FORMAT || manifest.version == 0 || manifest.version > FORMAT_VERSION {
        return Err(Error::Internal(format!(
            "backup manifest {}: format {} version {} is not one this Keyfall reads (up to {FORMAT_VERSION})",
            path.display(),
            manifest.format,
            manifest.version
        )));
    }
    Ok(manifest)
}

/// The items of a data file, in order, each checked: the count and the checksum are
/// verified when the end marker is reached, and any mismatch or truncation is an error
/// (so a restore never finishes from a damaged backup).
pub struct ItemReader {
    path: PathBuf,
    input: BufReader<std::fs::File>,
    hash: Xxh3,
    expected: DataSummary,
    read: u64,
    done: bool,
    cipher: Option<std::sync::Arc<crate::encryption::Cipher>>,
}

impl ItemReader {
    /// Opens a data file; `cipher` opens its items when the summary says they are sealed.
    pub fn open(
        dir: &Path,
        expected: &DataSummary,
        cipher: Option<std::sync::Arc<crate::encryption::Cipher>>,
    ) -> Result<ItemReader> {
        if expected.encryption.is_some() && cipher.is_none() {
            return Err(Error::Internal(format!(
                "backup {} is encrypted and its key is not available",
                dir.display()
            )));
        }
        let path = dir.join(&expected.file);
        let file = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
        let mut r = ItemReader {
            path,
            input: BufReader::with_capacity(1 << 20, file),
            hash: Xxh3::new(),
            expected: expected.clone(),
            read: 0,
            done: false,
            cipher: cipher.filter(|_| expected.encryption.is_some()),
        };
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(r.damaged("it does not start with the backup magic"));
        }
        Ok(r)
    }

    fn damaged(&self, why: &str) -> Error {
        Error::Internal(format!(
            "backup file {} is damaged: {why}",
            self.path.display()
        ))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        match self.input.read_exact(buf) {
            Ok(()) => {
                self.hash.update(buf);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(self.damaged("it ends early"))
            }
            Err(e) => Err(io(&self.path, e)),
        }
    }

    fn next_item(&mut self) -> Result<Option<Vec<u8>>> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len);
        if len == END {
            let mut count = [0u8; 8];
            self.read_exact(&mut count)?;
            let mut rest = [0u8; 1];
            if self.input.read(&mut rest).map_err(|e| io(&self.path, e))? != 0 {
                return Err(self.damaged("bytes follow its end marker"));
            }
            let count = u64::from_le_bytes(count);
            if count != self.read || count != self.expected.items {
                return Err(self.damaged("its item count does not match"));
            }
            if format!("{:016x}", self.hash.digest()) != self.expected.xxh3 {
                return Err(self.damaged("its checksum does not match its manifest"));
            }
            return Ok(None);
        }
        // A length is bounded by the 400 KB item limit (with room for the encoding).
        if len > 8 << 20 {
            return Err(self.damaged("an item length is out of range"));
        }
        let mut item = vec![0u8; len as usize];
        self.read_exact(&mut item)?;
        let item = match &self.cipher {
            Some(c) => c
                .open(&self.read.to_le_bytes(), &item)
                .map_err(|_| self.damaged("an item does not authenticate"))?,
            None => item,
        };
        self.read += 1;
        Ok(Some(item))
    }
}

impl Iterator for ItemReader {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Note {
        name: String,
    }

    fn written(dir: &Path, items: &[&[u8]]) -> DataSummary {
        let mut w = ItemWriter::create(dir, None).unwrap();
        for i in items {
            w.item(i, i.len() as u64).unwrap();
        }
        let data = w.finish().unwrap();
        let manifest = Manifest {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            content: Note { name: "b".into() },
            data: data.clone(),
        };
        write_manifest(dir, &manifest).unwrap();
        data
    }

    #[test]
    fn items_read_back_in_order_with_the_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let items: Vec<&[u8]> = vec![b"one", b"", b"three"];
        written(tmp.path(), &items);
        let m: Manifest<Note> = read_manifest(tmp.path()).unwrap();
        assert_eq!(m.content.name, "b");
        assert_eq!(m.data.items, 3);
        let back: Vec<Vec<u8>> = ItemReader::open(tmp.path(), &m.data, None)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(back, items.iter().map(|i| i.to_vec()).collect::<Vec<_>>());
    }

    #[test]
    fn a_damaged_or_truncated_file_is_an_error_not_fewer_items() {
        let tmp = tempfile::tempdir().unwrap();
        let data = written(tmp.path(), &[b"alpha", b"beta"]);
        let path = tmp.path().join(DATA_FILE);
        let bytes = std::fs::read(&path).unwrap();
        // A flipped byte inside an item.
        let mut flipped = bytes.clone();
        flipped[14] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let r: Result<Vec<Vec<u8>>> = ItemReader::open(tmp.path(), &data, None).unwrap().collect();
        assert!(r.unwrap_err().to_string().contains("checksum"));
        // Cut short.
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let r: Result<Vec<Vec<u8>>> = ItemReader::open(tmp.path(), &data, None).unwrap().collect();
        assert!(r.unwrap_err().to_string().contains("ends early"));
    }

    #[test]
    fn sealed_items_read_back_only_with_their_key_and_in_their_place() {
        let tmp = tempfile::tempdir().unwrap();
        let cipher = std::sync::Arc::new(crate::encryption::Cipher::new(&[9u8; 32]).unwrap());
        let about = DataEncryption {
            key: crate::encryption::WrappedKey {
                key_id: "k".into(),
                wrapped: "w".into(),
            },
            context: "t".into(),
        };
        let sealing = Sealing {
            cipher: cipher.clone(),
            about,
        };
        let mut w = ItemWriter::create(tmp.path(), Some(sealing)).unwrap();
        w.item(b"first secret", 1).unwrap();
        w.item(b"second secret", 1).unwrap();
        let data = w.finish().unwrap();
        let bytes = std::fs::read(tmp.path().join(DATA_FILE)).unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"secret"),
            "nothing in clear"
        );
        let back: Vec<Vec<u8>> = ItemReader::open(tmp.path(), &data, Some(cipher.clone()))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            back,
            vec![b"first secret".to_vec(), b"second secret".to_vec()]
        );
        assert!(ItemReader::open(tmp.path(), &data, None).is_err());
        let other = std::sync::Arc::new(crate::encryption::Cipher::new(&[1u8; 32]).unwrap());
        let r: Result<Vec<Vec<u8>>> = ItemReader::open(tmp.path(), &data, Some(other))
            .unwrap()
            .collect();
        assert!(r.is_err());
    }

    #[test]
    fn a_newer_format_is_refused_with_its_version() {
        let tmp = tempfile::tempdir().unwrap();
        written(tmp.path(), &[]);
        let path = tmp.path().join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"version\": 1", "\"version\": 99")).unwrap();
        let e = read_manifest::<Note>(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("version 99"), "{e}");
    }
}
