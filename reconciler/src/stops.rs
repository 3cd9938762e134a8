//! Stops in flight. The engine finishes a stop it was asked for even when
//! the `stack` that asked is killed, possibly after the next `up` looked
//! and saw the container running. So a run that stops containers (`down`)
//! notes, before it starts, until when its stops may land, and removes the
//! note when it is done; an `up` that finds a note waits until then and
//! looks again, so it never returns with a container left stopped.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::state::{StateDir, StateError};

fn name(project: &str) -> String {
    format!("{project}.stopping")
}

fn unix_millis(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// Note that stops of `project` may land until `grace` (and a little
/// slack) from now; a later note already there is kept.
pub fn begin(state: &StateDir, project: &str, grace: Duration) -> Result<(), StateError> {
    let until = unix_millis(SystemTime::now() + grace + Duration::from_secs(2));
    let until = pending(state, project).map_or(until, |t| unix_millis(t).max(until));
    state.write(&name(project), until.to_string().as_bytes())
}

/// The stops are done.
pub fn end(state: &StateDir, project: &str) -> Result<(), StateError> {
    state.remove(&name(project))
}

/// Until when stops of an interrupted run may still land, if one left a note.
pub fn pending(state: &StateDir, project: &str) -> Option<SystemTime> {
    let millis: u64 = state.read_text(&name(project)).trim().parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_lasts_until_it_is_ended() {
        let dir = std::env::temp_dir().join(format!("stack-stops-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = StateDir::at(dir.clone()).unwrap();
        assert!(pending(&state, "p").is_none());
        begin(&state, "p", Duration::from_secs(10)).unwrap();
        let until = pending(&state, "p").unwrap();
        assert!(until > SystemTime::now() + Duration::from_secs(10));
        // A shorter note does not shorten a longer one.
        begin(&state, "p", Duration::from_secs(1)).unwrap();
        assert!(pending(&state, "p").unwrap() >= until);
        end(&state, "p").unwrap();
        assert!(pending(&state, "p").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
