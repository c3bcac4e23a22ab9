//! Parsers of the Linux text sources of system information: `/etc/os-release`,
//! `/proc/cpuinfo`, `/proc/meminfo`, `/proc/uptime`, `/proc/pressure/memory` and
//! `/proc/self/mounts`. They take the text, so they are tested on samples; lines they
//! do not understand are skipped.

use crate::platform::MemoryStatus;

/// `NAME` and `VERSION` (or `VERSION_ID`) of an os-release file, unquoted.
pub fn os_release(text: &str) -> (String, String) {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let value = line.trim().strip_prefix(key)?.strip_prefix('=')?;
            Some(unquote(value))
        })
    };
    let name = field("NAME")
        .or_else(|| field("PRETTY_NAME"))
        .unwrap_or_else(|| "Linux".to_owned());
    let version = field("VERSION")
        .or_else(|| field("VERSION_ID"))
        .unwrap_or_default();
    (name, version)
}

/// Removes shell-style quotes and backslash escapes from an os-release value.
fn unquote(value: &str) -> String {
    let value = value.trim();
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The processor model and the number of logical processors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuInfo {
    /// The model name (`unknown` when the file names none).
    pub model: String,
    /// Logical processors.
    pub count: u32,
}

/// Reads `/proc/cpuinfo`: the first model name (x86 `model name`, Arm `Processor` or
/// `Hardware`, others `cpu model`/`cpu`) and the number of `processor` entries.
pub fn cpuinfo(text: &str) -> CpuInfo {
    let mut model = None;
    let mut count = 0u32;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" if value.parse::<u32>().is_ok() => count += 1,
            "model name" | "Processor" | "Hardware" | "cpu model" | "cpu"
                if model.is_none() && !value.is_empty() =>
            {
                model = Some(value.to_owned());
            }
            _ => {}
        }
    }
    CpuInfo {
        model: model.unwrap_or_else(|| "unknown".to_owned()),
        count: count.max(1),
    }
}

/// Reads `/proc/meminfo` (values in KiB); `None` without `MemTotal`. Kernels before
/// 3.14 have no `MemAvailable`: free + buffers + cached stands in.
pub fn meminfo(text: &str) -> Option<MemoryStatus> {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(key)?.strip_prefix(':')?;
            let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some(kib.saturating_mul(1024))
        })
    };
    let total_bytes = field("MemTotal")?;
    let available_bytes = field("MemAvailable").unwrap_or_else(|| {
        ["MemFree", "Buffers", "Cached"]
            .iter()
            .filter_map(|key| field(key))
            .fold(0u64, u64::saturating_add)
    });
    Some(MemoryStatus {
        total_bytes,
        available_bytes: available_bytes.min(total_bytes),
        swap_total_bytes: field("SwapTotal").unwrap_or(0),
        swap_free_bytes: field("SwapFree").unwrap_or(0),
        pressure_some_avg10: None,
    })
}

/// Whole seconds of `/proc/uptime`'s first figure.
pub fn uptime_secs(text: &str) -> Option<u64> {
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds as u64)
}

/// The `avg10` figure of the `some` line of `/proc/pressure/memory`.
pub fn pressure_some_avg10(text: &str) -> Option<f32> {
    let line = text.lines().find(|line| line.starts_with("some "))?;
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// A mounted file system, from `/proc/self/mounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The device or source.
    pub device: String,
    /// Where it is mounted (octal escapes such as `\040` decoded).
    pub mount_point: String,
    /// The file system type.
    pub file_system: String,
}

/// File system types that hold no files of their own (kernel interfaces, memory,
/// container plumbing, read-only application images).
const PSEUDO_FILE_SYSTEMS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// The mounts of `/proc/self/mounts` that hold files, in mount order.
pub fn mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = decode_octal(fields.next()?);
            let mount_point = decode_octal(fields.next()?);
            let file_system = fields.next()?.to_owned();
            Some(Mount {
                device,
                mount_point,
                file_system,
            })
        })
        .filter(|mount| !PSEUDO_FILE_SYSTEMS.contains(&mount.file_system.as_str()))
        .collect()
}

/// Decodes the `\ooo` escapes the kernel writes for spaces, tabs, newlines and
/// backslashes in mount fields.
fn decode_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes
            .get(i + 1..i + 4)
            .filter(|digits| bytes[i] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d)));
        match escape {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn os_release_names_and_versions() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nNAME=\"Debian GNU/Linux\"\n\
                      VERSION_ID=\"13\"\nVERSION=\"13 (trixie)\"\nID=debian\n";
        assert_eq!(
            os_release(debian),
            ("Debian GNU/Linux".to_owned(), "13 (trixie)".to_owned())
        );
        let arch = "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n";
        assert_eq!(os_release(arch), ("Arch Linux".to_owned(), String::new()));
        assert_eq!(
            os_release("NAME='My \\\"OS\\\"'\nVERSION_ID=1.2\n"),
            ("My \"OS\"".to_owned(), "1.2".to_owned())
        );
    }

    #[test]
    fn cpu_model_and_count_on_x86_and_arm() {
        let x86 = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n\n\
                   processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(
            cpuinfo(x86),
            CpuInfo {
                model: "AMD EPYC 7B13".to_owned(),
                count: 2
            }
        );
        let arm = "processor : 0\nBogoMIPS : 108.00\nprocessor : 1\nprocessor : 2\n\
                   processor : 3\nHardware : BCM2835\n";
        assert_eq!(
            cpuinfo(arm),
            CpuInfo {
                model: "BCM2835".to_owned(),
                count: 4
            }
        );
        assert_eq!(cpuinfo("").count, 1);
    }

    #[test]
    fn memory_figures_in_bytes() {
        let text = "MemTotal:       16384000 kB\nMemFree:         1000 kB\n\
                    MemAvailable:    8192000 kB\nSwapTotal:       2048 kB\nSwapFree: 1024 kB\n";
        let memory = meminfo(text).unwrap();
        assert_eq!(memory.total_bytes, 16_384_000 * 1024);
        assert_eq!(memory.available_bytes, 8_192_000 * 1024);
        assert_eq!(memory.swap_free_bytes, 1024 * 1024);
        let old_kernel = "MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\nCached: 20 kB\n";
        assert_eq!(meminfo(old_kernel).unwrap().available_bytes, 35 * 1024);
        assert_eq!(meminfo("garbage"), None);
    }

    #[test]
    fn uptime_and_pressure() {
        assert_eq!(uptime_secs("12345.67 9999.00\n"), Some(12345));
        assert_eq!(uptime_secs("-1 0"), None);
        let pressure = "some avg10=1.25 avg60=0.50 avg300=0.00 total=1\n\
                        full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(pressure_some_avg10(pressure), Some(1.25));
    }

    #[test]
    fn pseudo_file_systems_are_left_out_and_escapes_decoded() {
        let text = "proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\n\
                    tmpfs /dev/shm tmpfs rw 0 0\n/dev/sdb1 /media/My\\040Disk vfat rw 0 0\n\
                    cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\noverlay / overlay rw 0 0\n";
        let found = mounts(text);
        let points: Vec<&str> = found.iter().map(|m| m.mount_point.as_str()).collect();
        assert_eq!(points, ["/", "/media/My Disk", "/"]);
        assert_eq!(found[1].file_system, "vfat");
    }
}
