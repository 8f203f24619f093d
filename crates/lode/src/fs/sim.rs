//! Placeholder, replaced by the simulated file system.
