//! The state directories: where `stack` keeps its locks, the agent's
//! files, the key of the secret digests and the secret copies it mounts.
//!
//! Contract: a directory is used only when it is a real directory (not a
//! symlink), owned by the invoking user and writable by nobody else; a
//! missing one is created 0700. Files in it are opened with `O_NOFOLLOW`
//! (a symlink planted in their place is refused, never followed), created
//! 0600, and replaced atomically (a temporary file, then `rename`), so a
//! reader never sees half a file and another local user can neither read
//! nor redirect them.
//!
//! Two directories, for two lifetimes:
//! - [`StateDir::runtime`]: locks, the agent's pid, log and history, what
//!   `stack stop` took out of its care. `$XDG_RUNTIME_DIR/stack`, else
//!   `/run/stack` for root, else `<tmp>/stack-<uid>`.
//! - [`StateDir::persistent`]: what must survive a reboot, or every
//!   container would change after one: the digest key and the secret
//!   copies that containers bind-mount. `$XDG_STATE_HOME/stack`, else
//!   `/var/lib/stack` for root, else `~/.local/state/stack`.
//!
//! `$STACK_STATE_DIR` replaces both (tests, and users who want one place).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a state directory or file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The directory is a symlink, or not a directory.
    #[error("{path} is not a directory of its own (a symlink or a file): remove it, or set STACK_STATE_DIR to a directory you own")]
    NotADirectory {
        /// The directory.
        path: PathBuf,
    },
    /// Another user owns it.
    #[error("{path} belongs to uid {owner}, not to you (uid {me}): refusing to keep state there; remove it, or set STACK_STATE_DIR to a directory you own")]
    NotOwned {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The invoking user.
        me: u32,
    },
    /// Group or others may write (or read) it.
    #[error("{path} is open to other users (mode {mode:o}): run `chmod 700 {path}`, or set STACK_STATE_DIR to a private directory")]
    TooOpen {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file name that would leave the directory.
    #[error("`{name}` is not a plain file name")]
    BadName {
        /// The name.
        name: String,
    },
    /// An I/O error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// A checked state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

impl StateDir {
    /// Locks and the agent's files (gone at reboot, as the processes are).
    pub fn runtime() -> Result<StateDir, StateError> {
        let dir = if let Some(d) = std::env::var_os("STACK_STATE_DIR") {
            PathBuf::from(d)
        } else if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            PathBuf::from(d).join("stack")
        } else if is_root() {
            PathBuf::from("/run/stack")
        } else {
            std::env::temp_dir().join(format!("stack-{}", nix::unistd::geteuid()))
        };
        StateDir::at(dir)
    }

    /// The digest key and secret copies (kept across reboots).
    pub fn persistent() -> Result<StateDir, StateError> {
        let dir = if let Some(d) = std::env::var_os("STACK_STATE_DIR") {
            PathBuf::from(d)
        } else if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(d).join("stack")
        } else if is_root() {
            PathBuf::from("/var/lib/stack")
        } else if let Some(home) = std::env::var_os("HOME") {
            PathBuf::from(home).join(".local/state/stack")
        } else {
            return StateDir::runtime();
        };
        StateDir::at(dir)
    }

    /// Use `dir`, creating it 0700 when missing; refuse one that is a
    /// symlink, another user's, or open to others.
    pub fn at(dir: PathBuf) -> Result<StateDir, StateError> {
        if let Some(parent) = dir.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(&dir)(e)),
        }
        check_private(&dir)?;
        Ok(StateDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The path of `name` in it (`name` must be a plain file name).
    pub fn file(&self, name: &str) -> Result<PathBuf, StateError> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(StateError::BadName { name: name.into() });
        }
        Ok(self.dir.join(name))
    }

    /// A private subdirectory (created 0700, checked like this one).
    pub fn subdir(&self, name: &str) -> Result<StateDir, StateError> {
        StateDir::at(self.file(name)?)
    }

    /// The content of `name`, or `None` when it does not exist. A symlink
    /// in its place is an error, not followed.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.file(name)?;
        let mut file = match OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let mut out = Vec::new();
        file.read_to_end(&mut out).map_err(io(&path))?;
        Ok(Some(out))
    }

    /// The content of `name` as text; missing or unreadable is empty.
    pub fn read_text(&self, name: &str) -> String {
        match self.read(name) {
            Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(None) => String::new(),
            Err(e) => {
                tracing::warn!("{e}");
                String::new()
            }
        }
    }

    /// Replace `name` with `content`, atomically, mode `mode`.
    pub fn write_mode(&self, name: &str, content: &[u8], mode: u32) -> Result<(), StateError> {
        let path = self.file(name)?;
        let tmp = self.file(&format!(".{name}.{}.tmp", std::process::id()))?;
        let _ = std::fs::remove_file(&tmp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(io(&tmp))?;
        // The umask may have narrowed `mode`; a secret copy wants it exact.
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io(&tmp))?;
        let written = file.write_all(content).and_then(|()| file.sync_all());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    /// Replace `name` with `content`, atomically, readable by the owner only.
    pub fn write(&self, name: &str, content: &[u8]) -> Result<(), StateError> {
        self.write_mode(name, content, 0o600)
    }

    /// Remove `name`; a missing one is fine.
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        let path = self.file(name)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Open `name` for appending (a log), creating it 0600.
    pub fn append(&self, name: &str) -> Result<File, StateError> {
        let path = self.file(name)?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io(&path))
    }

    /// Open `name` for reading and writing without truncating it (a lock
    /// file), creating it 0600.
    pub fn open_rw(&self, name: &str) -> Result<File, StateError> {
        let path = self.file(name)?;
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io(&path))
    }

    /// Open `name` for reading only, when it exists (probing a lock).
    pub fn open_existing(&self, name: &str) -> Result<Option<File>, StateError> {
        let path = self.file(name)?;
        match OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// A secret key kept in `name`: made from the system's randomness the
    /// first time, 0600, and the same ever after.
    pub fn key(&self, name: &str) -> Result<Vec<u8>, StateError> {
        if let Some(key) = self.read(name)? {
            if key.len() >= 32 {
                return Ok(key);
            }
        }
        let mut key = vec![0u8; 32];
        let urandom = Path::new("/dev/urandom");
        File::open(urandom)
            .and_then(|mut f| f.read_exact(&mut key))
            .map_err(io(urandom))?;
        // Two processes making the key at once: the first rename wins for
        // good only if nobody overwrites it, so write to a temporary name
        // and link it in; a loser reads the winner's.
        let tmp_name = format!(".{name}.{}.new", std::process::id());
        self.write(&tmp_name, &key)?;
        let tmp = self.file(&tmp_name)?;
        let target = self.file(name)?;
        let linked = std::fs::hard_link(&tmp, &target);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                .read(name)?
                .ok_or_else(|| io(&target)(std::io::ErrorKind::NotFound.into())),
            Err(e) => Err(io(&target)(e)),
        }
    }
}

/// Refuse a directory that is a symlink, not ours, or open to others.
fn check_private(dir: &Path) -> Result<(), StateError> {
    let meta = std::fs::symlink_metadata(dir).map_err(io(dir))?;
    if !meta.file_type().is_dir() {
        return Err(StateError::NotADirectory { path: dir.into() });
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(StateError::NotOwned {
            path: dir.into(),
            owner: meta.uid(),
            me,
        });
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StateError::TooOpen {
            path: dir.into(),
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("stack-state-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn created_private_and_files_0600() {
        let d = scratch("new");
        let state = StateDir::at(d.clone()).unwrap();
        let mode = std::fs::metadata(&d).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        state.write("a", b"x").unwrap();
        let mode = std::fs::metadata(d.join("a")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(state.read("a").unwrap().unwrap(), b"x");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn open_directory_is_refused_with_the_fix() {
        let d = scratch("open");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = StateDir::at(d.clone()).unwrap_err();
        assert!(err.to_string().contains("chmod 700"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn symlinked_directory_is_refused() {
        let d = scratch("link");
        let real = scratch("link-real");
        StateDir::at(real.clone()).unwrap();
        std::os::unix::fs::symlink(&real, &d).unwrap();
        let err = StateDir::at(d.clone()).unwrap_err();
        assert!(matches!(err, StateError::NotADirectory { .. }), "{err}");
        std::fs::remove_file(&d).unwrap();
        std::fs::remove_dir_all(&real).unwrap();
    }

    #[test]
    fn a_planted_symlink_is_not_followed() {
        let d = scratch("plant");
        let state = StateDir::at(d.clone()).unwrap();
        let victim = d.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, d.join("agent.log")).unwrap();
        assert!(state.append("agent.log").is_err());
        assert!(state.read("agent.log").is_err());
        // An atomic write replaces the link itself, not what it points at.
        state.write("agent.log", b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(d.join("agent.log"))
            .unwrap()
            .file_type()
            .is_symlink());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn names_stay_inside() {
        let d = scratch("names");
        let state = StateDir::at(d.clone()).unwrap();
        assert!(state.file("../x").is_err());
        assert!(state.file("..").is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_key_is_made_once() {
        let d = scratch("key");
        let state = StateDir::at(d.clone()).unwrap();
        let a = state.key("digest.key").unwrap();
        let b = state.key("digest.key").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let mode = std::fs::metadata(d.join("digest.key")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
