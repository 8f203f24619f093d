//! Writing SSTs for flushes and compactions: build, count, fsync, describe.
//!
//! An [`Output`] is one SST being written. [`Output::finish`] fsyncs the file and returns its
//! [`FileMeta`]; the caller fsyncs the directory once for all its outputs, before the MANIFEST
//! edit that names them.

use crate::Result;
use crate::files;
use crate::fs::{Fs, WritableFile};
use crate::ikey::ValueKind;
use crate::options::Options;
use crate::sst::{TableBuilder, TableOptions};
use crate::version::FileMeta;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One SST being written.
pub(crate) struct Output {
    number: u64,
    path: PathBuf,
    file: Arc<dyn WritableFile>,
    builder: TableBuilder,
    tombstones: u64,
}

impl Output {
    pub(crate) fn create(
        fs: &dyn Fs,
        dir: &Path,
        options: &Options,
        number: u64,
    ) -> Result<Output> {
        let path = files::sst_path(dir, number);
        let file = fs.create(&path)?;
        let opts = TableOptions {
            block_bytes: options.block_bytes,
            bloom_bits_per_key: options.bloom_bits_per_key,
            compression: options.compression,
        };
        let builder = TableBuilder::new(Arc::clone(&file), opts);
        Ok(Output { number, path, file, builder, tombstones: 0 })
    }

    /// Adds an entry; internal keys strictly increase.
    pub(crate) fn add(&mut self, ikey: &[u8], kind: ValueKind, value: &[u8]) -> Result<()> {
        self.tombstones += u64::from(kind == ValueKind::Delete);
        self.builder.add(ikey, value)
    }

    pub(crate) fn estimated_bytes(&self) -> u64 {
        self.builder.estimated_bytes()
    }

    /// Finishes and fsyncs the file. `None` (and the file removed) when it holds nothing.
    pub(crate) fn finish(self, fs: &dyn Fs) -> Result<Option<FileMeta>> {
        if self.builder.entries() == 0 {
            drop(self.builder);
            drop(self.file);
            fs.remove(&self.path)?;
            return Ok(None);
        }
        let summary = self.builder.finish()?;
        self.file.sync()?;
        Ok(Some(FileMeta {
            number: self.number,
            file_bytes: summary.file_bytes,
            smallest: summary.smallest,
            largest: summary.largest,
            entries: summary.entries,
            tombstones: self.tombstones,
        }))
    }
}
