//! The diagnostics menu (see [`lifeline_protocol::system::Diagnostic`]): each check
//! reads figures or makes one lookup or connection, never runs a program, and judges
//! the result as ok, warning or failed with one line for a person and details.
//!
//! - disk: every file system; warning under [`DISK_WARNING_PERCENT`] free, failed
//!   under [`DISK_FAILED_PERCENT`].
//! - memory: the share still available; warning under [`MEMORY_WARNING_PERCENT`] or
//!   when tasks waited for memory more than [`PRESSURE_WARNING_PERCENT`] of the last
//!   10 s, failed under [`MEMORY_FAILED_PERCENT`].
//! - dns HOST: the system resolver's answer within [`LOOKUP_TIME_LIMIT`].
//! - tcp HOST:PORT: a connection to the first [`MAX_ADDRESSES_TRIED`] addresses, each
//!   within [`CONNECT_TIME_LIMIT`], closed at once without sending anything.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lifeline_protocol::system::{
    Diagnostic, DiagnosticReport, DiagnosticRequest, DiagnosticStatus, format_bytes, percent,
};

use crate::platform::SystemInspector;

/// A file system with less free space than this (percent) is a warning.
pub(crate) const DISK_WARNING_PERCENT: f64 = 10.0;
/// A file system with less free space than this (percent) fails the check.
pub(crate) const DISK_FAILED_PERCENT: f64 = 1.0;
/// Less available memory than this (percent) is a warning.
pub(crate) const MEMORY_WARNING_PERCENT: f64 = 10.0;
/// Less available memory than this (percent) fails the check.
pub(crate) const MEMORY_FAILED_PERCENT: f64 = 3.0;
/// Tasks waiting for memory more than this share of the last 10 s (percent) is a
/// warning.
pub(crate) const PRESSURE_WARNING_PERCENT: f32 = 10.0;
/// How long a name lookup may take.
pub(crate) const LOOKUP_TIME_LIMIT: Duration = Duration::from_secs(5);
/// How long one connection attempt may take.
pub(crate) const CONNECT_TIME_LIMIT: Duration = Duration::from_secs(3);
/// Addresses of one name tried at most.
pub(crate) const MAX_ADDRESSES_TRIED: usize = 4;

/// Runs `request` and judges its result.
pub(crate) fn run(
    request: &DiagnosticRequest,
    inspector: &dyn SystemInspector,
) -> DiagnosticReport {
    let (status, summary, details) = match &request.diagnostic {
        Diagnostic::DiskSpace => disk_space(inspector),
        Diagnostic::Memory => memory(inspector),
        Diagnostic::Dns { host } => dns(host),
        Diagnostic::TcpConnect { host, port } => tcp(host, *port),
        other => (
            DiagnosticStatus::Unavailable,
            format!("this agent does not know the {} diagnostic", other.name()),
            Vec::new(),
        ),
    };
    let mut report = DiagnosticReport {
        id: request.id,
        status,
        summary,
        details,
    };
    report.fit_limits();
    report
}

type Judged = (DiagnosticStatus, String, Vec<String>);

fn disk_space(inspector: &dyn SystemInspector) -> Judged {
    let disks = match inspector.disks() {
        Ok(disks) => disks,
        Err(err) => return (DiagnosticStatus::Unavailable, err.to_string(), Vec::new()),
    };
    if disks.is_empty() {
        return (
            DiagnosticStatus::Unavailable,
            "no file system that holds files was found".to_owned(),
            Vec::new(),
        );
    }
    let mut status = DiagnosticStatus::Ok;
    let mut low = Vec::new();
    let mut details = Vec::new();
    for disk in &disks {
        let free = percent(disk.free_bytes, disk.total_bytes);
        let mark = if free < DISK_FAILED_PERCENT {
            status = DiagnosticStatus::Failed;
            " (full)"
        } else if free < DISK_WARNING_PERCENT {
            if status == DiagnosticStatus::Ok {
                status = DiagnosticStatus::Warning;
            }
            " (low)"
        } else {
            ""
        };
        if !mark.is_empty() {
            low.push(format!("{} ({free:.0} % free)", disk.mount_point));
        }
        details.push(format!(
            "{}: {} free of {} ({free:.0} %){mark}, {} on {}",
            disk.mount_point,
            format_bytes(disk.free_bytes),
            format_bytes(disk.total_bytes),
            disk.file_system,
            disk.device
        ));
    }
    let summary = if low.is_empty() {
        format!(
            "every file system ({}) has at least {DISK_WARNING_PERCENT:.0} % free",
            disks.len()
        )
    } else {
        format!(
            "{} of {} file systems have less than {DISK_WARNING_PERCENT:.0} % free: {}",
            low.len(),
            disks.len(),
            low.join(", ")
        )
    };
    (status, summary, details)
}

fn memory(inspector: &dyn SystemInspector) -> Judged {
    let memory = match inspector.memory() {
        Ok(memory) => memory,
        Err(err) => return (DiagnosticStatus::Unavailable, err.to_string(), Vec::new()),
    };
    let available = percent(memory.available_bytes, memory.total_bytes);
    let waiting = memory.pressure_some_avg10;
    let status = if available < MEMORY_FAILED_PERCENT {
        DiagnosticStatus::Failed
    } else if available < MEMORY_WARNING_PERCENT
        || waiting.is_some_and(|share| share > PRESSURE_WARNING_PERCENT)
    {
        DiagnosticStatus::Warning
    } else {
        DiagnosticStatus::Ok
    };
    let summary = format!(
        "{} of {} memory available ({available:.0} %)",
        format_bytes(memory.available_bytes),
        format_bytes(memory.total_bytes)
    );
    let mut details = vec![if memory.swap_total_bytes == 0 {
        "swap: none".to_owned()
    } else {
        format!(
            "swap: {} used of {}",
            format_bytes(
                memory
                    .swap_total_bytes
                    .saturating_sub(memory.swap_free_bytes)
            ),
            format_bytes(memory.swap_total_bytes)
        )
    }];
    if let Some(share) = waiting {
        details.push(format!(
            "tasks waited for memory {share:.1} % of the last 10 s"
        ));
    }
    (status, summary, details)
}

/// Resolves `host` on a thread of its own, waiting at most [`LOOKUP_TIME_LIMIT`] (a
/// resolver that hangs keeps only that thread, until its own time-outs end it).
fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let (sender, receiver) = mpsc::channel();
    let target = (host.to_owned(), port);
    let spawned = std::thread::Builder::new()
        .name("lifeline-lookup".to_owned())
        .spawn(move || {
            let result = target
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>)
                .map_err(|err| err.to_string());
            let _ = sender.send(result);
        });
    if let Err(err) = spawned {
        return Err(format!("cannot start the lookup: {err}"));
    }
    match receiver.recv_timeout(LOOKUP_TIME_LIMIT) {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer from the resolver within {} s",
            LOOKUP_TIME_LIMIT.as_secs()
        )),
    }
}

fn dns(host: &str) -> Judged {
    match resolve(host, 0) {
        Ok(addresses) if !addresses.is_empty() => {
            let mut ips: Vec<String> = Vec::new();
            for address in &addresses {
                let ip = address.ip().to_string();
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
            (
                DiagnosticStatus::Ok,
                format!("{host} resolves to {}", ips.join(", ")),
                ips,
            )
        }
        Ok(_) => (
            DiagnosticStatus::Failed,
            format!("{host} resolves to no address"),
            Vec::new(),
        ),
        Err(reason) => (
            DiagnosticStatus::Failed,
            format!("{host} does not resolve: {reason}"),
            Vec::new(),
        ),
    }
}

fn tcp(host: &str, port: u16) -> Judged {
    let addresses = match resolve(host, port) {
        Ok(addresses) if !addresses.is_empty() => addresses,
        Ok(_) => {
            return (
                DiagnosticStatus::Failed,
                format!("{host} resolves to no address"),
                Vec::new(),
            );
        }
        Err(reason) => {
            return (
                DiagnosticStatus::Failed,
                format!("{host} does not resolve: {reason}"),
                Vec::new(),
            );
        }
    };
    let mut details = Vec::new();
    for address in addresses.iter().take(MAX_ADDRESSES_TRIED) {
        let started = Instant::now();
        match TcpStream::connect_timeout(address, CONNECT_TIME_LIMIT) {
            Ok(stream) => {
                let took = started.elapsed();
                drop(stream);
                details.push(format!(
                    "{address}: connected in {:.1} ms",
                    took.as_secs_f64() * 1000.0
                ));
                return (
                    DiagnosticStatus::Ok,
                    format!("{host}:{port} accepts connections ({address})"),
                    details,
                );
            }
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => details.push(format!(
                "{address}: no answer within {} s",
                CONNECT_TIME_LIMIT.as_secs()
            )),
            Err(err) => details.push(format!("{address}: {err}")),
        }
    }
    (
        DiagnosticStatus::Failed,
        format!("{host}:{port} does not accept connections"),
        details,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::platform::{MemoryStatus, SystemInfoError};
    use lifeline_protocol::system::{DiskInfo, SystemReport};

    struct Figures {
        disks: Vec<DiskInfo>,
        memory: MemoryStatus,
    }

    impl SystemInspector for Figures {
        fn report(&self) -> Result<SystemReport, SystemInfoError> {
            Err(SystemInfoError::Unsupported)
        }
        fn memory(&self) -> Result<MemoryStatus, SystemInfoError> {
            Ok(self.memory)
        }
        fn disks(&self) -> Result<Vec<DiskInfo>, SystemInfoError> {
            Ok(self.disks.clone())
        }
    }

    fn disk(mount_point: &str, free_bytes: u64) -> DiskInfo {
        DiskInfo {
            mount_point: mount_point.to_owned(),
            device: "/dev/vda".to_owned(),
            file_system: "ext4".to_owned(),
            total_bytes: 1000,
            free_bytes,
        }
    }

    fn figures(disks: Vec<DiskInfo>, available_bytes: u64, pressure: Option<f32>) -> Figures {
        Figures {
            disks,
            memory: MemoryStatus {
                total_bytes: 1000,
                available_bytes,
                swap_total_bytes: 0,
                swap_free_bytes: 0,
                pressure_some_avg10: pressure,
            },
        }
    }

    fn check(diagnostic: Diagnostic, inspector: &dyn SystemInspector) -> DiagnosticReport {
        run(&DiagnosticRequest { id: 1, diagnostic }, inspector)
    }

    #[test]
    fn a_disk_under_ten_percent_free_is_a_warning_and_a_full_one_fails() {
        let healthy = figures(vec![disk("/", 500), disk("/home", 100)], 500, None);
        let report = check(Diagnostic::DiskSpace, &healthy);
        assert_eq!(report.status, DiagnosticStatus::Ok, "{report:?}");
        let low = figures(vec![disk("/", 500), disk("/home", 99)], 500, None);
        let report = check(Diagnostic::DiskSpace, &low);
        assert_eq!(report.status, DiagnosticStatus::Warning);
        assert!(
            report.summary.contains("/home (10 % free)"),
            "{}",
            report.summary
        );
        let full = figures(vec![disk("/", 5), disk("/home", 99)], 500, None);
        assert_eq!(
            check(Diagnostic::DiskSpace, &full).status,
            DiagnosticStatus::Failed
        );
    }

    #[test]
    fn memory_pressure_is_judged_on_what_is_available_and_on_waiting() {
        let cases = [
            (500, None, DiagnosticStatus::Ok),
            (90, None, DiagnosticStatus::Warning),
            (500, Some(25.0), DiagnosticStatus::Warning),
            (20, None, DiagnosticStatus::Failed),
        ];
        for (available, pressure, expected) in cases {
            let report = check(Diagnostic::Memory, &figures(vec![], available, pressure));
            assert_eq!(report.status, expected, "{report:?}");
        }
    }

    #[test]
    fn a_platform_without_figures_says_so() {
        let report = check(Diagnostic::DiskSpace, &crate::platform::UnsupportedSystem);
        assert_eq!(report.status, DiagnosticStatus::Unavailable);
        assert!(
            report
                .summary
                .contains("not supported on this platform yet")
        );
    }

    #[test]
    fn localhost_resolves_and_a_loopback_port_is_open_then_closed() {
        let none = figures(vec![], 0, None);
        let report = check(
            Diagnostic::Dns {
                host: "localhost".to_owned(),
            },
            &none,
        );
        assert_eq!(report.status, DiagnosticStatus::Ok, "{report:?}");
        assert!(
            report
                .details
                .iter()
                .any(|ip| ip == "127.0.0.1" || ip == "::1")
        );

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Diagnostic::TcpConnect {
            host: "127.0.0.1".to_owned(),
            port,
        };
        let report = check(open.clone(), &none);
        assert_eq!(report.status, DiagnosticStatus::Ok, "{report:?}");
        drop(listener);
        let report = check(open, &none);
        assert_eq!(report.status, DiagnosticStatus::Failed, "{report:?}");
        assert!(report.details[0].contains("refused"), "{report:?}");
    }
}
