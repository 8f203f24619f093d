//! Lode: an embeddable LSM-tree key-value store.
#![warn(missing_docs)]

mod encoding;
mod error;
pub mod fs;
mod ikey;
mod iter;
mod options;
mod sst;
#[cfg(test)]
mod testing;

pub use error::{Error, Result};
pub use ikey::SeqNo;
pub use options::{Compression, Durability, Options};
