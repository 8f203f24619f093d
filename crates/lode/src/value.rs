//! [`Key`] and [`Value`]: byte strings handed out by reads, sharing memory with the memtable
//! or a cached block (no copy). Hold them briefly: a small value keeps its whole block alive.

use bytes::Bytes;
use std::fmt;
use std::ops::Deref;

macro_rules! byte_string {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A ", $what, " returned by a read.")]
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub(crate) Bytes);

        impl $name {
            /// The underlying shared bytes.
            pub fn into_bytes(self) -> Bytes {
                self.0
            }
            /// A copy as a `Vec<u8>`.
            pub fn to_vec(&self) -> Vec<u8> {
                self.0.to_vec()
            }
        }

        impl Deref for $name {
            type Target = [u8];
            fn deref(&self) -> &[u8] {
                &self.0
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl PartialEq<[u8]> for $name {
            fn eq(&self, other: &[u8]) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&[u8]> for $name {
            fn eq(&self, other: &&[u8]) -> bool {
                self.0 == *other
            }
        }
    };
}

byte_string!(Key, "key");
byte_string!(Value, "value");
