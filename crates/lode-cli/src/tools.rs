//! `lode check` and `lode dump`: the operator tools, a thin front end over `lode::inspect`
//! (which does all the reading and verifying). This file only formats and picks exit codes.
//!
//! Output goes to stdout, one line per record or finding, so it can be piped and grepped; the
//! progress bar goes to stderr and is hidden when stderr is not a terminal (and, for a dump,
//! when stdout is one: the records and the bar would overwrite each other).

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lode::inspect::{
    self, CheckProgress, Finding, ManifestItem, ManifestReader, Report, Severity, SstReader,
    WalItem, WalReader,
};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code: everything verified (notes and warnings allowed).
const EXIT_CLEAN: u8 = 0;
/// Exit code: something is damaged.
const EXIT_DAMAGED: u8 = 1;
/// Exit code: the command could not run (no such directory or file, not a Lode directory, a
/// directory in use). clap uses the same code for bad arguments.
const EXIT_USAGE: u8 = 2;

/// Bytes of a value a dump prints unless `--values` is given.
const VALUE_PREFIX_BYTES: usize = 32;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The data directory of a stopped server (or a closed database), or a checkpoint.
    dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// What the file is: a WAL (`NNNNNN.wal`), an SST (`NNNNNN.sst`) or a MANIFEST.
    #[arg(value_enum)]
    kind: DumpKind,
    /// The file to read. It is only read, never changed; a server may have it open.
    file: PathBuf,
    /// Stop after N records: WAL batches, MANIFEST edits, or SST entries.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Print whole values, not just their first 32 bytes.
    #[arg(long)]
    values: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DumpKind {
    Wal,
    Sst,
    Manifest,
}

/// A progress bar over `total` bytes on stderr, drawn only when stderr is a terminal.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn finding_line(f: &Finding) -> String {
    let severity = match f.severity {
        Severity::Problem => "problem",
        Severity::Warning => "warning",
        Severity::Note => "note",
    };
    let at = f.offset.map_or(String::new(), |o| format!(" at offset {o}"));
    format!("{severity}: {}{at}: {}", f.file, f.what)
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `lode check DIR`.
pub fn check(args: CheckArgs) -> ExitCode {
    let bar = progress_bar(0);
    let mut out = io::stdout().lock();
    let mut write_failed = None;
    let result = inspect::check(&args.dir, &mut |p| match p {
        CheckProgress::Planned { total_bytes } => bar.set_length(total_bytes),
        CheckProgress::Read { bytes } => bar.inc(bytes),
        CheckProgress::Found(f) => {
            if let Err(e) = bar.suspend(|| writeln!(out, "{}", finding_line(&f))) {
                write_failed.get_or_insert(e);
            }
        }
    });
    bar.finish_and_clear();
    let report = match result {
        Ok(report) => report,
        Err(lode::Error::Locked(dir)) => {
            eprintln!(
                "lode check: {} is in use: a running server (or other process) holds its LOCK, and \
                 its files change while it runs. Stop it first, or check a checkpoint of it.",
                dir.display()
            );
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            eprintln!("lode check: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let written = write_failed.map_or_else(|| summary(&mut out, &args.dir, &report), Err);
    // A reader that went away (`| head`) still gets the verdict as the exit status.
    if let Err(e) = written
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return write_error(e);
    }
    ExitCode::from(if report.is_clean() { EXIT_CLEAN } else { EXIT_DAMAGED })
}

fn summary(out: &mut impl Write, dir: &Path, r: &Report) -> io::Result<()> {
    writeln!(
        out,
        "checked {}: {}, {}, {}, {}, {} verified",
        dir.display(),
        plural(r.files, "file", "files"),
        plural(r.records, "record", "records"),
        plural(r.blocks, "block", "blocks"),
        plural(r.entries, "entry", "entries"),
        plural(r.bytes, "byte", "bytes"),
    )?;
    let verdict = if r.is_clean() {
        "no corruption found"
    } else {
        "CORRUPT: the engine would refuse to open this directory, or could not read all of it"
    };
    writeln!(
        out,
        "{}, {}, {}: {verdict}",
        plural(r.problems() as u64, "problem", "problems"),
        plural(r.warnings() as u64, "warning", "warnings"),
        plural(r.notes() as u64, "note", "notes"),
    )?;
    out.flush()
}

/// A failed write to stdout: a closed pipe (`| head`) is a normal way to stop reading.
fn write_error(e: io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return ExitCode::from(EXIT_CLEAN);
    }
    eprintln!("lode: writing the output failed: {e}");
    ExitCode::from(EXIT_USAGE)
}

/// `lode dump wal|sst|manifest FILE`.
pub fn dump(args: DumpArgs) -> ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let show_bar = !io::stdout().is_terminal();
    let result = match args.kind {
        DumpKind::Wal => dump_wal(&args, &mut out, show_bar),
        DumpKind::Sst => dump_sst(&args, &mut out, show_bar),
        DumpKind::Manifest => dump_manifest(&args, &mut out, show_bar),
    };
    match result.and_then(|damaged| out.flush().map(|()| damaged)) {
        Ok(Dumped::Damaged) => ExitCode::from(EXIT_DAMAGED),
        Ok(Dumped::Clean) => ExitCode::from(EXIT_CLEAN),
        Ok(Dumped::NotOpened(e)) => {
            eprintln!("lode dump: {}: {e}", args.file.display());
            ExitCode::from(EXIT_USAGE)
        }
        Err(e) => write_error(e),
    }
}

/// How a dump went.
#[derive(Debug)]
enum Dumped {
    Clean,
    Damaged,
    /// The file could not be opened at all.
    NotOpened(lode::Error),
}

/// Counts what a dump printed, and stops it at `--limit`.
#[derive(Debug)]
struct Tally {
    records: u64,
    damaged: u64,
    limit: Option<u64>,
}

impl Tally {
    fn new(limit: Option<u64>) -> Tally {
        Tally { records: 0, damaged: 0, limit }
    }

    /// True when the limit is reached: the caller prints [`Tally::stopped`] and stops.
    fn full(&self) -> bool {
        self.limit.is_some_and(|l| self.records >= l)
    }

    fn stopped(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "# stopped after {} (--limit)", self.records)
    }

    fn outcome(&self) -> Dumped {
        if self.damaged > 0 { Dumped::Damaged } else { Dumped::Clean }
    }
}

fn error_line(out: &mut impl Write, offset: u64, reason: &str) -> io::Result<()> {
    writeln!(out, "error at {offset}: {reason}")
}

/// ` = 5 bytes "value"`, the value cut to its first bytes unless `all`.
fn value_text(value: &[u8], all: bool) -> String {
    let shown = if all { value } else { &value[..value.len().min(VALUE_PREFIX_BYTES)] };
    let more = if shown.len() < value.len() { "..." } else { "" };
    format!(" = {} {}{more}", plural(value.len() as u64, "byte", "bytes"), inspect::escape(shown))
}

fn bar_for(show: bool, total: u64) -> ProgressBar {
    if show { progress_bar(total) } else { ProgressBar::hidden() }
}

fn dump_wal(args: &DumpArgs, out: &mut impl Write, show_bar: bool) -> io::Result<Dumped> {
    let mut reader = match WalReader::open(&args.file) {
        Ok(r) => r,
        Err(e) => return Ok(Dumped::NotOpened(e)),
    };
    let bar = bar_for(show_bar, reader.file_bytes());
    writeln!(
        out,
        "# WAL {}, {}",
        args.file.display(),
        plural(reader.file_bytes(), "byte", "bytes")
    )?;
    let mut tally = Tally::new(args.limit);
    let mut ops = 0u64;
    while let Some(item) = reader.next() {
        if tally.full() {
            tally.stopped(out)?;
            break;
        }
        match item {
            WalItem::Batch(b) => {
                tally.records += 1;
                ops += b.ops.len() as u64;
                writeln!(
                    out,
                    "batch at {}: first seqno {}, {}, {}",
                    b.offset,
                    b.first_seqno,
                    plural(b.ops.len() as u64, "op", "ops"),
                    plural(b.record_bytes, "byte", "bytes"),
                )?;
                for op in &b.ops {
                    match op.kind {
                        inspect::EntryKind::Put => writeln!(
                            out,
                            "  put {} {}{}",
                            op.seqno,
                            inspect::escape(&op.key),
                            value_text(&op.value, args.values)
                        )?,
                        inspect::EntryKind::Delete => {
                            writeln!(out, "  del {} {}", op.seqno, inspect::escape(&op.key))?
                        }
                    }
                }
            }
            WalItem::Torn { offset, bytes } => writeln!(
                out,
                "torn tail at {offset}: {} of a write a crash cut short (recovery truncates it in \
                 the newest WAL; in an older one it is corruption)",
                plural(bytes, "byte", "bytes")
            )?,
            WalItem::Damaged(d) => {
                tally.damaged += 1;
                error_line(out, d.offset, &d.reason)?;
            }
        }
        bar.set_position(reader.position());
    }
    bar.finish_and_clear();
    writeln!(
        out,
        "# {}, {}, {}",
        plural(tally.records, "batch", "batches"),
        plural(ops, "op", "ops"),
        plural(tally.damaged, "damaged record", "damaged records")
    )?;
    Ok(tally.outcome())
}

fn dump_manifest(args: &DumpArgs, out: &mut impl Write, show_bar: bool) -> io::Result<Dumped> {
    let mut reader = match ManifestReader::open(&args.file) {
        Ok(r) => r,
        Err(e) => return Ok(Dumped::NotOpened(e)),
    };
    let bar = bar_for(show_bar, reader.file_bytes());
    writeln!(
        out,
        "# MANIFEST {}, {}",
        args.file.display(),
        plural(reader.file_bytes(), "byte", "bytes")
    )?;
    let mut tally = Tally::new(args.limit);
    while let Some(item) = reader.next() {
        if tally.full() {
            tally.stopped(out)?;
            break;
        }
        match item {
            ManifestItem::Edit(e) => {
                tally.records += 1;
                writeln!(out, "edit at {}: {}", e.offset, plural(e.record_bytes, "byte", "bytes"))?;
                if let Some(n) = e.log_number {
                    writeln!(out, "  log number {n}")?;
                }
                if let Some(n) = e.next_file_number {
                    writeln!(out, "  next file number {n}")?;
                }
                if let Some(n) = e.last_seqno {
                    writeln!(out, "  last seqno {n}")?;
                }
                for f in &e.deleted_files {
                    writeln!(out, "  remove L{} {:06}.sst", f.level, f.number)?;
                }
                for f in &e.new_files {
                    writeln!(
                        out,
                        "  add L{} {:06}.sst: {}, {} ({}), {} .. {}",
                        f.level,
                        f.number,
                        plural(f.file_bytes, "byte", "bytes"),
                        plural(f.entries, "entry", "entries"),
                        plural(f.tombstones, "tombstone", "tombstones"),
                        f.smallest,
                        f.largest
                    )?;
                }
            }
            ManifestItem::Torn { offset, bytes } => writeln!(
                out,
                "torn tail at {offset}: {} of an edit a crash cut short (it never took effect; \
                 recovery ignores it)",
                plural(bytes, "byte", "bytes")
            )?,
            ManifestItem::Damaged(d) => {
                tally.damaged += 1;
                error_line(out, d.offset, &d.reason)?;
            }
        }
        bar.set_position(reader.position());
    }
    bar.finish_and_clear();
    writeln!(
        out,
        "# {}, {}",
        plural(tally.records, "edit", "edits"),
        plural(tally.damaged, "damaged record", "damaged records")
    )?;
    Ok(tally.outcome())
}

fn dump_sst(args: &DumpArgs, out: &mut impl Write, show_bar: bool) -> io::Result<Dumped> {
    let reader = match SstReader::open(&args.file) {
        Ok(r) => r,
        Err(lode::Error::Corruption { offset, reason, .. }) => {
            writeln!(out, "# SST {}", args.file.display())?;
            error_line(out, offset, &reason)?;
            writeln!(out, "# the footer, index or filter did not verify: no block can be found")?;
            return Ok(Dumped::Damaged);
        }
        Err(e) => return Ok(Dumped::NotOpened(e)),
    };
    let p = *reader.properties();
    let bar = bar_for(show_bar, p.file_bytes);
    writeln!(out, "# SST {}, {}", args.file.display(), plural(p.file_bytes, "byte", "bytes"))?;
    writeln!(out, "footer at {}: format version {}, CRC32C", p.footer_offset, p.format_version)?;
    writeln!(
        out,
        "index at {}: {}, {}",
        p.index.offset,
        plural(p.index.stored_bytes, "byte", "bytes"),
        plural(p.data_blocks as u64, "data block", "data blocks")
    )?;
    match p.filter {
        Some(f) => writeln!(
            out,
            "filter at {}: {}, {} probes per key",
            f.block.offset,
            plural(f.block.stored_bytes, "byte", "bytes"),
            f.probes
        )?,
        None => writeln!(out, "filter: none")?,
    }
    for (i, e) in reader.index().iter().enumerate() {
        writeln!(
            out,
            "  block {i} at {}: {}, last key {}",
            e.block.offset,
            plural(e.block.stored_bytes, "byte", "bytes"),
            e.last_key
        )?;
    }
    let mut tally = Tally::new(args.limit);
    let mut tombstones = 0u64;
    'blocks: for (i, e) in reader.index().iter().enumerate() {
        if tally.full() {
            tally.stopped(out)?;
            break;
        }
        writeln!(out, "block {i} at {}:", e.block.offset)?;
        let entries = match reader.block(i) {
            Ok(entries) => entries,
            Err(err) => {
                tally.damaged += 1;
                report_error(out, err)?;
                continue;
            }
        };
        for entry in entries {
            if tally.full() {
                tally.stopped(out)?;
                break 'blocks;
            }
            match entry {
                Ok(entry) => {
                    tally.records += 1;
                    match entry.key.kind {
                        inspect::EntryKind::Put => writeln!(
                            out,
                            "  {}{}",
                            entry.key,
                            value_text(&entry.value, args.values)
                        )?,
                        inspect::EntryKind::Delete => {
                            tombstones += 1;
                            writeln!(out, "  {}", entry.key)?;
                        }
                    }
                }
                Err(err) => {
                    tally.damaged += 1;
                    report_error(out, err)?;
                }
            }
        }
        bar.set_position(e.block.offset + e.block.disk_bytes());
    }
    bar.finish_and_clear();
    writeln!(
        out,
        "# {}, {} ({}), {}",
        plural(p.data_blocks as u64, "data block", "data blocks"),
        plural(tally.records, "entry", "entries"),
        plural(tombstones, "tombstone", "tombstones"),
        plural(tally.damaged, "damaged block", "damaged blocks")
    )?;
    Ok(tally.outcome())
}

/// An engine error met mid-dump, as an error line.
fn report_error(out: &mut impl Write, e: lode::Error) -> io::Result<()> {
    match e {
        lode::Error::Corruption { offset, reason, .. } => error_line(out, offset, &reason),
        other => writeln!(out, "error: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_text_cuts_long_values_to_an_escaped_prefix() {
        assert_eq!(value_text(b"v\x00", false), " = 2 bytes \"v\\x00\"");
        let long = vec![b'a'; VALUE_PREFIX_BYTES + 1];
        let cut = format!(" = 33 bytes \"{}\"...", "a".repeat(VALUE_PREFIX_BYTES));
        assert_eq!(value_text(&long, false), cut);
        let whole = value_text(&long[..VALUE_PREFIX_BYTES], false);
        assert!(whole.ends_with("a\"") && !whole.contains("..."), "at the limit: {whole}");
        assert!(value_text(&long, true).ends_with(&format!("{}\"", "a".repeat(33))));
        assert_eq!(value_text(b"", false), " = 0 bytes \"\"");
        assert_eq!(value_text(b"x", false), " = 1 byte \"x\"");
    }

    #[test]
    fn finding_line_names_file_and_offset() {
        let f = Finding {
            severity: Severity::Problem,
            file: "000007.sst".into(),
            offset: Some(4096),
            what: "block checksum mismatch".into(),
        };
        assert_eq!(finding_line(&f), "problem: 000007.sst at offset 4096: block checksum mismatch");
        let f = Finding { severity: Severity::Warning, offset: None, ..f };
        assert_eq!(finding_line(&f), "warning: 000007.sst: block checksum mismatch");
    }
}
