//! Reading the files a stack names (stack files, `include`, `extends`,
//! env files) safely: only regular files, at most [`MAX_FILE_BYTES`], as
//! UTF-8 text with a leading byte-order mark dropped. `/dev/zero`, a FIFO
//! or a directory named as a stack file is refused at once, never read
//! until memory runs out or a writer that never comes.

use std::io::Read;
use std::path::Path;

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

/// The text of `path`.
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
    fn a_bom_is_dropped() {
        let p = std::env::temp_dir().join(format!("stack-bom-{}", std::process::id()));
        std::fs::write(&p, "\u{feff}services: {}\n").unwrap();
        assert_eq!(read_text(&p).unwrap(), "services: {}\n");
        std::fs::remove_file(&p).unwrap();
    }
}
