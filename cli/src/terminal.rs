//! The terminal a command runs on.

/// Puts the terminal in raw mode for as long as it lives: keys go to the
/// container's terminal as typed (Ctrl-C included), not to this process.
pub struct RawMode;

impl RawMode {
    /// Raw mode on.
    pub fn enable() -> std::io::Result<Self> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}
