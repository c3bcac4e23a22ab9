//! System information on Linux, read from `/proc`, `/sys` and `/etc/os-release` and
//! from three C library calls (`statvfs`, `getifaddrs`, `getpwuid_r`) that have no
//! file to read instead. No program is run.
//!
//! [`proc`] parses the text files (and is tested on samples); `ffi` wraps the calls.

use std::collections::BTreeMap;
use std::path::Path;

use lifeline_protocol::system::{DiskInfo, NetworkInterface, SystemReport};

use super::{MemoryStatus, SystemInfoError, SystemInspector};

mod ffi;
pub mod proc;

/// The Linux backend of [`SystemInspector`].
#[derive(Debug, Default)]
pub struct LinuxSystem;

fn read(path: &'static str) -> Result<String, SystemInfoError> {
    std::fs::read_to_string(path).map_err(|err| SystemInfoError::Read {
        what: path,
        reason: err.to_string(),
    })
}

impl SystemInspector for LinuxSystem {
    fn report(&self) -> Result<SystemReport, SystemInfoError> {
        let os_release = read("/etc/os-release").or_else(|_| read("/usr/lib/os-release"));
        let (os_name, os_version) = match os_release {
            Ok(text) => proc::os_release(&text),
            Err(_) => ("Linux".to_owned(), String::new()),
        };
        let kernel_release = read("/proc/sys/kernel/osrelease")?;
        let cpu = proc::cpuinfo(&read("/proc/cpuinfo")?);
        let memory = self.memory()?;
        Ok(SystemReport {
            os_name,
            os_version,
            kernel: format!("Linux {}", kernel_release.trim()),
            host_name: read("/proc/sys/kernel/hostname")?.trim().to_owned(),
            uptime_secs: proc::uptime_secs(&read("/proc/uptime")?).unwrap_or(0),
            cpu_model: cpu.model,
            cpu_count: cpu.count,
            memory_total_bytes: memory.total_bytes,
            memory_available_bytes: memory.available_bytes,
            disks: self.disks()?,
            interfaces: interfaces(),
            user: ffi::user_name(),
            displays: Vec::new(),
            lifeline_version: env!("CARGO_PKG_VERSION").to_owned(),
            truncated: false,
        })
    }

    fn memory(&self) -> Result<MemoryStatus, SystemInfoError> {
        let mut memory = proc::meminfo(&read("/proc/meminfo")?).ok_or(SystemInfoError::Read {
            what: "/proc/meminfo",
            reason: "it has no MemTotal line".to_owned(),
        })?;
        memory.pressure_some_avg10 = read("/proc/pressure/memory")
            .ok()
            .and_then(|text| proc::pressure_some_avg10(&text));
        Ok(memory)
    }

    fn disks(&self) -> Result<Vec<DiskInfo>, SystemInfoError> {
        let mounts = read("/proc/self/mounts")?;
        let mut disks: Vec<DiskInfo> = Vec::new();
        for mount in proc::mounts(&mounts) {
            if disks.iter().any(|known| known.device == mount.device) {
                // The same file system mounted again (a bind mount): counted once.
                continue;
            }
            let Ok((total_bytes, free_bytes)) = ffi::space(Path::new(&mount.mount_point)) else {
                continue;
            };
            if total_bytes == 0 {
                continue;
            }
            disks.push(DiskInfo {
                mount_point: mount.mount_point,
                device: mount.device,
                file_system: mount.file_system,
                total_bytes,
                free_bytes,
            });
        }
        Ok(disks)
    }
}

/// Interfaces with their addresses (from `getifaddrs`) and hardware addresses (from
/// `/sys/class/net`), in name order.
fn interfaces() -> Vec<NetworkInterface> {
    let mut by_name: BTreeMap<String, NetworkInterface> = BTreeMap::new();
    for entry in ffi::interface_addresses() {
        let interface = by_name
            .entry(entry.name.clone())
            .or_insert_with(|| NetworkInterface {
                name: entry.name.clone(),
                ..NetworkInterface::default()
            });
        interface.up |= entry.up;
        if let Some(address) = entry.address
            && !interface.addresses.contains(&address)
        {
            interface.addresses.push(address);
        }
    }
    for interface in by_name.values_mut() {
        let path = Path::new("/sys/class/net")
            .join(&interface.name)
            .join("address");
        interface.mac = std::fs::read_to_string(path)
            .ok()
            .map(|mac| mac.trim().to_owned())
            .filter(|mac| !mac.is_empty() && mac != "00:00:00:00:00:00");
    }
    by_name.into_values().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    /// The report of this machine agrees with what `/proc` says.
    #[test]
    fn the_report_of_this_machine_matches_proc() {
        let report = LinuxSystem.report().unwrap();
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(report.host_name, hostname.trim());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
        let total_kib: u64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(report.memory_total_bytes, total_kib * 1024);
        assert!(report.cpu_count >= 1);
        assert!(report.kernel.starts_with("Linux "));
        assert!(
            report.disks.iter().any(|disk| disk.mount_point == "/"),
            "{:?}",
            report.disks
        );
        assert!(
            report.disks.iter().all(|disk| !matches!(
                disk.file_system.as_str(),
                "proc" | "sysfs" | "cgroup" | "cgroup2" | "devpts" | "tmpfs"
            )),
            "{:?}",
            report.disks
        );
        let lo = report
            .interfaces
            .iter()
            .find(|interface| interface.name == "lo")
            .unwrap();
        assert!(
            lo.addresses
                .iter()
                .any(|a| a.address == std::net::IpAddr::from([127, 0, 0, 1]) && a.prefix_len == 8),
            "{lo:?}"
        );
        assert!(!report.user.is_empty());
    }
}
