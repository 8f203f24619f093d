//! What the kernel knows about this process and a directory: bytes written to storage, CPU
//! time, peak resident memory, disk usage. Linux /proc only; `None` where a file is missing.

use std::path::Path;

/// Clock ticks per second of /proc/self/stat's CPU times (USER_HZ: 100 on every Linux
/// architecture this runs on; there is no safe call to ask for it).
const TICKS_PER_SECOND: f64 = 100.0;

/// Bytes this process caused to be sent to storage (`write_bytes` of /proc/self/io: counted
/// when pages are dirtied, so flushes and compactions done by any thread show up at once).
pub fn write_bytes() -> Option<u64> {
    field(&std::fs::read_to_string("/proc/self/io").ok()?, "write_bytes:")
}

/// User plus system CPU seconds of the whole process so far.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// The peak resident set size since the start or the last [`reset_peak_rss`] (VmHWM).
pub fn peak_rss_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

/// The peak resident set size of another process (VmHWM of /proc/PID/status).
pub fn peak_rss_bytes_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    field(&status, "VmHWM:").map(|k| k * 1024)
}

/// Starts the peak resident set size over from the current size (writing 5 to
/// /proc/self/clear_refs), so each phase reports its own peak. False if the kernel refused.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(name: &str) -> Option<u64> {
    field(&std::fs::read_to_string("/proc/self/status").ok()?, name)
}

fn field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// Bytes of disk the files under `dir` occupy (allocated blocks, as `du` counts them, so a
/// sparse or preallocated file counts what it really holds).
pub fn disk_usage(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_figures_are_readable_and_move_the_right_way() {
        let cpu = cpu_seconds().expect("cpu time");
        assert!(cpu >= 0.0);
        let before = write_bytes().expect("/proc/self/io");
        // On the repository's disk: a tmpfs would not count written bytes.
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).expect("tempdir");
        let data = vec![7u8; 1 << 20];
        std::fs::write(dir.path().join("f"), &data).expect("write");
        let after = write_bytes().expect("/proc/self/io");
        assert!(after >= before + (1 << 20), "1 MiB written but write_bytes {before} -> {after}");
        let used = disk_usage(dir.path()).expect("du");
        assert!(used >= 1 << 20, "du {used}");
        assert!(peak_rss_bytes().expect("VmHWM") > 0);
        assert!(peak_rss_bytes_of(std::process::id()).expect("VmHWM of self") > 0);
    }

    #[test]
    fn field_reads_the_number_after_the_name() {
        assert_eq!(field("rchar: 5\nwrite_bytes: 4096\n", "write_bytes:"), Some(4096));
        assert_eq!(field("VmHWM:\t  1234 kB\n", "VmHWM:"), Some(1234));
        assert_eq!(field("nothing here", "VmHWM:"), None);
    }
}
