//! Settings read from the environment, as Compose reads its `COMPOSE_*`
//! variables; our `STACK_*` name wins where both are set.

/// The first of `names` that is set (and not empty).
pub fn setting(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

/// A boolean setting: `1`, `true`, `yes`, `on` (any case) are true.
pub fn flag(names: &[&str]) -> bool {
    setting(names).is_some_and(|v| is_true(&v))
}

fn is_true(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthy_values() {
        assert!(is_true("1") && is_true("TRUE") && is_true("yes"));
        assert!(!is_true("0") && !is_true("false") && !is_true(""));
    }
}
