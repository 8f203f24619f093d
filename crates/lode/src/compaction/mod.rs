//! Leveled compaction policy. [`picker`] is pure: a function of a version and a
//! configuration, tested with versions written as data. The job that does the I/O is in
//! `db::compact`.

pub(crate) mod picker;

pub(crate) use picker::{Picker, Task};
