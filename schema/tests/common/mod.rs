//! Helpers shared by the schema integration tests.

pub mod case;
