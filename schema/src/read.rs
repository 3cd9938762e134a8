//! Where the loader reads the files a stack names (stack files,
//! `include`, `extends`, env files): a [`Source`].
//!
//! - [`FileSystem`] reads them safely: only regular files, at most
//!   [`MAX_FILE_BYTES`], as UTF-8 text with a leading byte-order mark
//!   dropped. `/dev/zero`, a FIFO or a directory named as a stack file is
//!   refused at once, never read until memory runs out or a writer that
//!   never comes.
//! - [`Recorder`] reads through another source and keeps what it read, and
//!   [`Memory`] answers from such a record: the agent loads exactly the
//!   files `stack up` applied, however they were edited since.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Where the loader's files come from.
pub trait Source: Send + Sync + std::fmt::Debug {
    /// The text of `path`.
    fn read(&self, path: &Path) -> Result<String, ReadError>;
    /// Is there a file at `path` (for the default file names)?
    fn is_file(&self, path: &Path) -> bool;
}

impl<T: Source + ?Sized> Source for std::sync::Arc<T> {
    fn read(&self, path: &Path) -> Result<String, ReadError> {
        (**self).read(path)
    }

    fn is_file(&self, path: &Path) -> bool {
        (**self).is_file(path)
    }
}

/// The file system, read safely (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct FileSystem;

impl Source for FileSystem {
    fn read(&self, path: &Path) -> Result<String, ReadError> {
        read_text(path)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// Files held in memory: path -> text, or `None` for a file that was not
/// there (an absent `.env` stays absent).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// The files.
    pub files: BTreeMap<PathBuf, Option<String>>,
}

impl Source for Memory {
    fn read(&self, path: &Path) -> Result<String, ReadError> {
        match self.files.get(path) {
            Some(Some(text)) => Ok(text.clone()),
            _ => Err(ReadError::Io(std::io::ErrorKind::NotFound.into())),
        }
    }

    fn is_file(&self, path: &Path) -> bool {
        matches!(self.files.get(path), Some(Some(_)))
    }
}

/// Files of `top` in front of those of `bottom` (a stack file given on
/// standard input in front of the file system).
#[derive(Debug)]
pub struct Overlay<B> {
    /// Answers for its own paths.
    pub top: Memory,
    /// Answers for the others.
    pub bottom: B,
}

impl<B: Source> Source for Overlay<B> {
    fn read(&self, path: &Path) -> Result<String, ReadError> {
        match self.top.files.get(path) {
            Some(_) => self.top.read(path),
            None => self.bottom.read(path),
        }
    }

    fn is_file(&self, path: &Path) -> bool {
        match self.top.files.get(path) {
            Some(_) => self.top.is_file(path),
            None => self.bottom.is_file(path),
        }
    }
}

/// Reads from `inner`, keeping a [`Memory`] of what was read.
#[derive(Debug)]
pub struct Recorder<S> {
    inner: S,
    seen: Mutex<Memory>,
}

impl<S: Source> Recorder<S> {
    /// Record what is read from `inner`.
    pub fn new(inner: S) -> Recorder<S> {
        Recorder {
            inner,
            seen: Mutex::new(Memory::default()),
        }
    }

    /// What was read so far.
    pub fn memory(&self) -> Memory {
        match self.seen.lock() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn note(&self, path: &Path, text: Option<String>) {
        let mut seen = match self.seen.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        seen.files.insert(path.to_path_buf(), text);
    }
}

impl<S: Source> Source for Recorder<S> {
    fn read(&self, path: &Path) -> Result<String, ReadError> {
        let result = self.inner.read(path);
        match &result {
            Ok(text) => self.note(path, Some(text.clone())),
            Err(e) if is_not_found(e) => self.note(path, None),
            Err(_) => {}
        }
        result
    }

    fn is_file(&self, path: &Path) -> bool {
        let found = self.inner.is_file(path);
        if !found {
            self.note(path, None);
        }
        found
    }
}

/// The largest file the loader reads. A 1,000-service stack file is about
/// half a megabyte.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file system said no.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Not a regular file.
    #[error("it is not a regular file (a device, a FIFO or a directory)")]
    NotAFile,
    /// Over the size limit.
    #[error("it is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024))]
    TooLarge,
    /// Not UTF-8.
    #[error("it is not UTF-8 text")]
    NotText,
}

/// The text of `path`, read safely from the file system.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    // Opening a FIFO for reading waits for a writer: do not open one.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    let file = std::fs::File::open(path)?;
    // What was opened may not be what was looked at: check it again.
    if !file.metadata()?.is_file() {
        return Err(ReadError::NotAFile);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|_| ReadError::NotText)?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Is this error a file that is simply not there?
pub fn is_not_found(e: &ReadError) -> bool {
    matches!(e, ReadError::Io(io) if io.kind() == std::io::ErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_refused_without_reading() {
        assert!(matches!(
            read_text(Path::new("/dev/zero")),
            Err(ReadError::NotAFile)
        ));
        assert!(matches!(
            read_text(Path::new("/")),
            Err(ReadError::NotAFile)
        ));
    }

    #[test]
    fn a_recording_replays_what_was_read_and_what_was_missing() {
        let p = std::env::temp_dir().join(format!("stack-rec-{}", std::process::id()));
        std::fs::write(&p, "a: 1\n").unwrap();
        let rec = Recorder::new(FileSystem);
        assert_eq!(rec.read(&p).unwrap(), "a: 1\n");
        let missing = Path::new("/nonexistent/.env");
        assert!(rec.read(missing).is_err());
        std::fs::write(&p, "edited\n").unwrap();
        let memory = rec.memory();
        assert_eq!(
            memory.read(&p).unwrap(),
            "a: 1\n",
            "the text as it was read"
        );
        assert!(is_not_found(&memory.read(missing).unwrap_err()));
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn a_bom_is_dropped() {
        let p = std::env::temp_dir().join(format!("stack-bom-{}", std::process::id()));
        std::fs::write(&p, "\u{feff}services: {}\n").unwrap();
        assert_eq!(read_text(&p).unwrap(), "services: {}\n");
        std::fs::remove_file(&p).unwrap();
    }
}
