//! System information and diagnostics: what the technician may read about the end
//! user's computer, and a fixed menu of read-only checks.
//!
//! - With the `sysinfo` permission the viewer sends [`SystemInfoRequest`]; the agent
//!   answers [`SystemInfoReply`] with a [`SystemReport`] (operating system, kernel,
//!   host name, uptime, processor, memory, disks, network interfaces, user, displays,
//!   Lifeline version) or why it has none (e.g. not supported on this platform yet).
//! - With the `diagnostics` permission the viewer sends [`DiagnosticRequest`] naming one
//!   [`Diagnostic`] of the menu ([`DIAGNOSTICS`]); the agent answers
//!   [`DiagnosticReport`]: ok, warning or failed, with details. Nothing here runs a
//!   command: that is the `commands` permission ([`crate::action`]).
//!
//! Both are answered once per request id; the agent audits each request (with the
//! diagnostic and its argument) and that an answer was sent. Every text and list has a
//! limit ([`SystemReport::check_limits`]); the agent cuts its own report to fit
//! ([`SystemReport::fit_limits`]) and a peer that sends more breaks the protocol.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::action::truncate_to;
use crate::message::FieldTooLong;

/// Longest text field of a report (names, versions, paths), in bytes.
pub const MAX_INFO_TEXT_LEN: usize = 256;
/// Most disks in a report.
pub const MAX_DISKS: usize = 64;
/// Most network interfaces in a report.
pub const MAX_INTERFACES: usize = 64;
/// Most addresses of one network interface.
pub const MAX_ADDRESSES_PER_INTERFACE: usize = 16;
/// Most displays in a report.
pub const MAX_DISPLAYS: usize = 16;
/// Longest host name a diagnostic takes, in bytes (the DNS limit).
pub const MAX_HOST_NAME_LEN: usize = 253;
/// Longest summary of a diagnostic's result, in bytes.
pub const MAX_SUMMARY_LEN: usize = 1024;
/// Most detail lines of a diagnostic's result.
pub const MAX_DIAGNOSTIC_DETAILS: usize = 64;
/// System information requests and diagnostics waiting for an answer at once, per
/// session.
pub const MAX_INSPECTIONS_IN_FLIGHT: usize = 4;

/// Viewer to agent: send the system report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfoRequest {
    /// Chosen by the viewer, unique among its requests in flight.
    pub id: u32,
}

/// Agent to viewer: the answer to a [`SystemInfoRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfoReply {
    /// The request's id.
    pub id: u32,
    /// The report, or why there is none.
    pub result: SystemInfoResult,
}

/// A system report, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SystemInfoResult {
    /// The report.
    Report(Box<SystemReport>),
    /// No report: not supported on this platform yet, refused, or failed.
    Unavailable {
        /// Why, for the technician.
        reason: String,
    },
}

/// What the technician may read about the end user's computer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemReport {
    /// Operating system, e.g. `Debian GNU/Linux`.
    pub os_name: String,
    /// Its version, e.g. `13 (trixie)`.
    pub os_version: String,
    /// Kernel name and release, e.g. `Linux 6.12.48`.
    pub kernel: String,
    /// The computer's host name.
    pub host_name: String,
    /// Seconds since the system started.
    pub uptime_secs: u64,
    /// Processor model.
    pub cpu_model: String,
    /// Logical processors.
    pub cpu_count: u32,
    /// Physical memory, in bytes.
    pub memory_total_bytes: u64,
    /// Memory available to start programs without swapping, in bytes.
    pub memory_available_bytes: u64,
    /// Mounted file systems that hold files (pseudo file systems left out).
    pub disks: Vec<DiskInfo>,
    /// Network interfaces and their addresses.
    pub interfaces: Vec<NetworkInterface>,
    /// The account the agent runs as (the end user's).
    pub user: String,
    /// The displays the agent shares from, as capture sees them (empty when unknown).
    pub displays: Vec<DisplayInfo>,
    /// The agent's Lifeline version.
    pub lifeline_version: String,
    /// Whether lists or texts were cut to the protocol's limits.
    pub truncated: bool,
}

/// One mounted file system.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskInfo {
    /// Where it is mounted, e.g. `/home`.
    pub mount_point: String,
    /// The device or source, e.g. `/dev/sda2`.
    pub device: String,
    /// Its type, e.g. `ext4`.
    pub file_system: String,
    /// Size, in bytes.
    pub total_bytes: u64,
    /// Space the end user can still use, in bytes (what `df` calls available).
    pub free_bytes: u64,
}

/// One network interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    /// Its name, e.g. `eth0`.
    pub name: String,
    /// Whether it is up.
    pub up: bool,
    /// Its hardware address, e.g. `52:54:00:12:34:56`, when it has one.
    pub mac: Option<String>,
    /// Its IP addresses.
    pub addresses: Vec<InterfaceAddress>,
}

/// An IP address of an interface, with its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceAddress {
    /// The address.
    pub address: IpAddr,
    /// The network prefix length, e.g. 24.
    pub prefix_len: u8,
}

/// One display (monitor).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayInfo {
    /// Its name, e.g. `DP-1`.
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether it is the primary display.
    pub primary: bool,
}

impl SystemReport {
    /// Checks every text and list against its limit (for reports from a peer).
    pub fn check_limits(&self) -> Result<(), FieldTooLong> {
        for (field, text) in [
            ("os name", &self.os_name),
            ("os version", &self.os_version),
            ("kernel", &self.kernel),
            ("host name", &self.host_name),
            ("processor model", &self.cpu_model),
            ("user", &self.user),
            ("lifeline version", &self.lifeline_version),
        ] {
            check_text(field, text, MAX_INFO_TEXT_LEN)?;
        }
        check_count("disks", self.disks.len(), MAX_DISKS)?;
        for disk in &self.disks {
            check_text("mount point", &disk.mount_point, MAX_INFO_TEXT_LEN)?;
            check_text("disk device", &disk.device, MAX_INFO_TEXT_LEN)?;
            check_text("file system", &disk.file_system, MAX_INFO_TEXT_LEN)?;
        }
        check_count("network interfaces", self.interfaces.len(), MAX_INTERFACES)?;
        for interface in &self.interfaces {
            check_text("interface name", &interface.name, MAX_INFO_TEXT_LEN)?;
            if let Some(mac) = &interface.mac {
                check_text("hardware address", mac, MAX_INFO_TEXT_LEN)?;
            }
            check_count(
                "interface addresses",
                interface.addresses.len(),
                MAX_ADDRESSES_PER_INTERFACE,
            )?;
        }
        check_count("displays", self.displays.len(), MAX_DISPLAYS)?;
        for display in &self.displays {
            check_text("display name", &display.name, MAX_INFO_TEXT_LEN)?;
        }
        Ok(())
    }

    /// Cuts texts and lists to their limits (for the agent's own report), and says so
    /// in [`SystemReport::truncated`].
    pub fn fit_limits(&mut self) {
        let mut cut = false;
        for text in [
            &mut self.os_name,
            &mut self.os_version,
            &mut self.kernel,
            &mut self.host_name,
            &mut self.cpu_model,
            &mut self.user,
            &mut self.lifeline_version,
        ] {
            cut |= truncate_to(text, MAX_INFO_TEXT_LEN);
        }
        cut |= cut_list(&mut self.disks, MAX_DISKS);
        for disk in &mut self.disks {
            cut |= truncate_to(&mut disk.mount_point, MAX_INFO_TEXT_LEN);
            cut |= truncate_to(&mut disk.device, MAX_INFO_TEXT_LEN);
            cut |= truncate_to(&mut disk.file_system, MAX_INFO_TEXT_LEN);
        }
        cut |= cut_list(&mut self.interfaces, MAX_INTERFACES);
        for interface in &mut self.interfaces {
            cut |= truncate_to(&mut interface.name, MAX_INFO_TEXT_LEN);
            if let Some(mac) = &mut interface.mac {
                cut |= truncate_to(mac, MAX_INFO_TEXT_LEN);
            }
            cut |= cut_list(&mut interface.addresses, MAX_ADDRESSES_PER_INTERFACE);
        }
        cut |= cut_list(&mut self.displays, MAX_DISPLAYS);
        for display in &mut self.displays {
            cut |= truncate_to(&mut display.name, MAX_INFO_TEXT_LEN);
        }
        self.truncated |= cut;
    }
}

impl SystemInfoReply {
    /// Checks the report or the reason against their limits.
    pub fn check_limits(&self) -> Result<(), FieldTooLong> {
        match &self.result {
            SystemInfoResult::Report(report) => report.check_limits(),
            SystemInfoResult::Unavailable { reason } => {
                check_text("reason", reason, crate::message::MAX_REASON_LEN)
            }
        }
    }
}

/// One check of the diagnostics menu, with its argument. None runs a program or
/// changes anything.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Diagnostic {
    /// Free space on every mounted file system (warning under 10 % free).
    DiskSpace,
    /// Memory pressure: the share of memory still available, swap, and the kernel's
    /// pressure figures where it has them.
    Memory,
    /// Resolve a host name with the system resolver.
    Dns {
        /// The host name (letters, digits, dots and hyphens).
        host: String,
    },
    /// Open a TCP connection to a host and port, with a short time limit, and close it
    /// again without sending anything.
    TcpConnect {
        /// The host name or IPv4 address (letters, digits, dots and hyphens).
        host: String,
        /// The port.
        port: u16,
    },
}

/// An entry of the diagnostics menu, for windows and help texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiagnosticInfo {
    /// The name used in scripts and audit records, e.g. `dns`.
    pub name: &'static str,
    /// What it checks, for a person.
    pub title: &'static str,
    /// What argument it takes (e.g. `host:port`), if any.
    pub argument: Option<&'static str>,
}

/// The diagnostics menu, in display order.
pub const DIAGNOSTICS: [DiagnosticInfo; 4] = [
    DiagnosticInfo {
        name: "disk",
        title: "Disk space",
        argument: None,
    },
    DiagnosticInfo {
        name: "memory",
        title: "Memory pressure",
        argument: None,
    },
    DiagnosticInfo {
        name: "dns",
        title: "Resolve a host name",
        argument: Some("host name"),
    },
    DiagnosticInfo {
        name: "tcp",
        title: "Reach a TCP port",
        argument: Some("host:port"),
    },
];

/// A diagnostic that is not on the menu or whose argument is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiagnosticError {
    /// No diagnostic has this name.
    #[error(
        "there is no diagnostic {given:?}; the menu has: disk, memory, dns HOST, tcp HOST:PORT"
    )]
    Unknown {
        /// The name given.
        given: String,
    },
    /// The argument is missing or malformed.
    #[error("the {name} diagnostic {problem}")]
    BadArgument {
        /// The diagnostic.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl Diagnostic {
    /// The menu name, e.g. `dns`.
    pub fn name(&self) -> &'static str {
        match self {
            Diagnostic::DiskSpace => "disk",
            Diagnostic::Memory => "memory",
            Diagnostic::Dns { .. } => "dns",
            Diagnostic::TcpConnect { .. } => "tcp",
        }
    }

    /// The argument as typed, e.g. `localhost` or `localhost:22`.
    pub fn argument(&self) -> Option<String> {
        match self {
            Diagnostic::DiskSpace | Diagnostic::Memory => None,
            Diagnostic::Dns { host } => Some(host.clone()),
            Diagnostic::TcpConnect { host, port } => Some(format!("{host}:{port}")),
        }
    }

    /// Name and argument, e.g. `tcp localhost:22`, for audit records and lists.
    pub fn describe(&self) -> String {
        match self.argument() {
            Some(argument) => format!("{} {argument}", self.name()),
            None => self.name().to_owned(),
        }
    }

    /// The diagnostic `name` of the menu with its `argument` (`disk`, `memory`,
    /// `dns HOST`, `tcp HOST:PORT`), checked.
    pub fn parse(name: &str, argument: Option<&str>) -> Result<Self, DiagnosticError> {
        let argument = argument.map(str::trim).filter(|a| !a.is_empty());
        let no_argument = |diagnostic: Diagnostic| match argument {
            None => Ok(diagnostic),
            Some(_) => Err(DiagnosticError::BadArgument {
                name: diagnostic.name(),
                problem: "takes no argument".to_owned(),
            }),
        };
        let diagnostic = match name.trim() {
            "disk" => no_argument(Diagnostic::DiskSpace)?,
            "memory" => no_argument(Diagnostic::Memory)?,
            "dns" => Diagnostic::Dns {
                host: argument
                    .ok_or_else(|| DiagnosticError::BadArgument {
                        name: "dns",
                        problem: "needs a host name, e.g. dns example.com".to_owned(),
                    })?
                    .to_owned(),
            },
            "tcp" => {
                let target = argument.ok_or_else(|| DiagnosticError::BadArgument {
                    name: "tcp",
                    problem: "needs HOST:PORT, e.g. tcp example.com:443".to_owned(),
                })?;
                let (host, port) =
                    target
                        .rsplit_once(':')
                        .ok_or_else(|| DiagnosticError::BadArgument {
                            name: "tcp",
                            problem: format!("needs HOST:PORT, not {target:?}"),
                        })?;
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port != 0)
                    .ok_or_else(|| DiagnosticError::BadArgument {
                        name: "tcp",
                        problem: format!("needs a port from 1 to 65535, not {port:?}"),
                    })?;
                Diagnostic::TcpConnect {
                    host: host.to_owned(),
                    port,
                }
            }
            other => {
                return Err(DiagnosticError::Unknown {
                    given: other.to_owned(),
                });
            }
        };
        diagnostic.validate()?;
        Ok(diagnostic)
    }

    /// Checks the argument: host names of letters, digits, dots and hyphens only, at
    /// most [`MAX_HOST_NAME_LEN`] bytes; ports from 1.
    pub fn validate(&self) -> Result<(), DiagnosticError> {
        match self {
            Diagnostic::DiskSpace | Diagnostic::Memory => Ok(()),
            Diagnostic::Dns { host } => check_host_name("dns", host),
            Diagnostic::TcpConnect { host, port } => {
                check_host_name("tcp", host)?;
                if *port == 0 {
                    return Err(DiagnosticError::BadArgument {
                        name: "tcp",
                        problem: "needs a port from 1 to 65535, not 0".to_owned(),
                    });
                }
                Ok(())
            }
        }
    }
}

fn check_host_name(name: &'static str, host: &str) -> Result<(), DiagnosticError> {
    let problem = if host.is_empty() {
        "needs a host name".to_owned()
    } else if host.len() > MAX_HOST_NAME_LEN {
        format!("takes host names of at most {MAX_HOST_NAME_LEN} characters")
    } else if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        format!("takes host names of letters, digits, dots and hyphens only, not {host:?}")
    } else {
        return Ok(());
    };
    Err(DiagnosticError::BadArgument { name, problem })
}

/// Viewer to agent: run one diagnostic of the menu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticRequest {
    /// Chosen by the viewer, unique among its requests in flight.
    pub id: u32,
    /// Which check, with its argument.
    pub diagnostic: Diagnostic,
}

impl DiagnosticRequest {
    /// Checks the argument's length (its syntax is checked by the agent, which answers
    /// a bad one with [`DiagnosticStatus::Unavailable`]).
    pub fn check_limits(&self) -> Result<(), FieldTooLong> {
        match &self.diagnostic {
            Diagnostic::Dns { host } | Diagnostic::TcpConnect { host, .. } => {
                check_text("host name", host, MAX_HOST_NAME_LEN)
            }
            Diagnostic::DiskSpace | Diagnostic::Memory => Ok(()),
        }
    }
}

/// How a diagnostic came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DiagnosticStatus {
    /// All is well.
    Ok,
    /// Works, but something needs attention (e.g. a disk almost full).
    Warning,
    /// The check failed (e.g. the name does not resolve, the port is closed).
    Failed,
    /// The check could not be run (refused, not supported here, bad argument).
    Unavailable,
}

impl DiagnosticStatus {
    /// `ok`, `warning`, `failed` or `unavailable`.
    pub const fn name(self) -> &'static str {
        match self {
            DiagnosticStatus::Ok => "ok",
            DiagnosticStatus::Warning => "warning",
            DiagnosticStatus::Failed => "failed",
            DiagnosticStatus::Unavailable => "unavailable",
        }
    }
}

impl std::fmt::Display for DiagnosticStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Agent to viewer: the result of a [`DiagnosticRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticReport {
    /// The request's id.
    pub id: u32,
    /// How it came out.
    pub status: DiagnosticStatus,
    /// One line for a person, e.g. `localhost resolves to 127.0.0.1, ::1`.
    pub summary: String,
    /// More lines (one per disk, per address...).
    pub details: Vec<String>,
}

impl DiagnosticReport {
    /// A diagnostic that could not be run, and why.
    pub fn unavailable(id: u32, reason: impl Into<String>) -> Self {
        Self {
            id,
            status: DiagnosticStatus::Unavailable,
            summary: reason.into(),
            details: Vec::new(),
        }
    }

    /// Checks texts and lists against their limits (for reports from a peer).
    pub fn check_limits(&self) -> Result<(), FieldTooLong> {
        check_text("diagnostic summary", &self.summary, MAX_SUMMARY_LEN)?;
        check_count(
            "diagnostic details",
            self.details.len(),
            MAX_DIAGNOSTIC_DETAILS,
        )?;
        for line in &self.details {
            check_text("diagnostic detail", line, MAX_INFO_TEXT_LEN)?;
        }
        Ok(())
    }

    /// Cuts texts and lists to their limits (for the agent's own result); a cut list
    /// ends with a line that says so.
    pub fn fit_limits(&mut self) {
        truncate_to(&mut self.summary, MAX_SUMMARY_LEN);
        if self.details.len() > MAX_DIAGNOSTIC_DETAILS {
            let left_out = self.details.len() - (MAX_DIAGNOSTIC_DETAILS - 1);
            self.details.truncate(MAX_DIAGNOSTIC_DETAILS - 1);
            self.details.push(format!("({left_out} more not shown)"));
        }
        for line in &mut self.details {
            truncate_to(line, MAX_INFO_TEXT_LEN);
        }
    }
}

/// A size for a person, in binary units: `512 B`, `1.5 KiB`, `29.0 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Which percentage `part` is of `whole` (0 for an empty whole).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn check_text(field: &'static str, text: &str, limit: usize) -> Result<(), FieldTooLong> {
    if text.len() > limit {
        return Err(FieldTooLong { field, limit });
    }
    Ok(())
}

fn check_count(field: &'static str, count: usize, limit: usize) -> Result<(), FieldTooLong> {
    if count > limit {
        return Err(FieldTooLong { field, limit });
    }
    Ok(())
}

fn cut_list<T>(list: &mut Vec<T>, limit: usize) -> bool {
    if list.len() <= limit {
        return false;
    }
    list.truncate(limit);
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn the_menu_parses_names_and_arguments() {
        assert_eq!(Diagnostic::parse("disk", None), Ok(Diagnostic::DiskSpace));
        assert_eq!(
            Diagnostic::parse("memory", Some(" ")),
            Ok(Diagnostic::Memory)
        );
        assert_eq!(
            Diagnostic::parse("dns", Some("localhost")),
            Ok(Diagnostic::Dns {
                host: "localhost".to_owned()
            })
        );
        let tcp = Diagnostic::parse("tcp", Some("127.0.0.1:8080")).unwrap();
        assert_eq!(tcp.describe(), "tcp 127.0.0.1:8080");
        for info in DIAGNOSTICS {
            let argument = match info.argument {
                Some("host:port") => Some("localhost:1"),
                Some(_) => Some("localhost"),
                None => None,
            };
            let parsed = Diagnostic::parse(info.name, argument).unwrap();
            assert_eq!(parsed.name(), info.name);
        }
    }

    #[test]
    fn host_names_are_letters_digits_dots_and_hyphens_only() {
        for bad in [
            "a b",
            "host;rm",
            "$(id)",
            "::1",
            "x/y",
            "",
            &"a".repeat(254),
        ] {
            let err = Diagnostic::Dns {
                host: bad.to_owned(),
            }
            .validate()
            .unwrap_err();
            assert!(err.to_string().starts_with("the dns diagnostic"), "{err}");
        }
        assert!(Diagnostic::parse("tcp", Some("localhost:0")).is_err());
        assert!(Diagnostic::parse("tcp", Some("localhost")).is_err());
        assert!(Diagnostic::parse("tcp", Some("localhost:99999")).is_err());
        assert!(Diagnostic::parse("disk", Some("/")).is_err());
        assert!(Diagnostic::parse("dns", None).is_err());
        let unknown = Diagnostic::parse("shell", Some("ls")).unwrap_err();
        assert!(unknown.to_string().contains("disk, memory"), "{unknown}");
    }

    #[test]
    fn a_report_is_cut_to_its_limits_and_then_passes_them() {
        let mut report = SystemReport {
            host_name: "h".repeat(1000),
            disks: vec![DiskInfo::default(); MAX_DISKS + 5],
            interfaces: vec![
                NetworkInterface {
                    addresses: vec![
                        InterfaceAddress {
                            address: IpAddr::from([127, 0, 0, 1]),
                            prefix_len: 8,
                        };
                        40
                    ],
                    ..NetworkInterface::default()
                };
                2
            ],
            ..SystemReport::default()
        };
        assert_eq!(
            report.check_limits(),
            Err(FieldTooLong {
                field: "host name",
                limit: MAX_INFO_TEXT_LEN
            })
        );
        report.fit_limits();
        assert!(report.truncated);
        assert_eq!(report.check_limits(), Ok(()));
        assert_eq!(report.disks.len(), MAX_DISKS);
        assert_eq!(
            report.interfaces[1].addresses.len(),
            MAX_ADDRESSES_PER_INTERFACE
        );
    }

    #[test]
    fn long_diagnostic_details_end_with_a_count_of_what_was_left_out() {
        let mut report = DiagnosticReport {
            id: 1,
            status: DiagnosticStatus::Ok,
            summary: "ok".to_owned(),
            details: vec!["line".to_owned(); MAX_DIAGNOSTIC_DETAILS + 10],
        };
        assert!(report.check_limits().is_err());
        report.fit_limits();
        assert_eq!(report.check_limits(), Ok(()));
        assert_eq!(
            report.details.last().map(String::as_str),
            Some("(11 more not shown)")
        );
    }

    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(29 << 30), "29.0 GiB");
        assert_eq!(percent(1, 4), 25.0);
        assert_eq!(percent(1, 0), 0.0);
    }

    #[test]
    fn reports_survive_the_wire() {
        let reply = SystemInfoReply {
            id: 7,
            result: SystemInfoResult::Report(Box::new(SystemReport {
                interfaces: vec![NetworkInterface {
                    name: "lo".to_owned(),
                    up: true,
                    mac: None,
                    addresses: vec![InterfaceAddress {
                        address: "::1".parse().unwrap(),
                        prefix_len: 128,
                    }],
                }],
                ..SystemReport::default()
            })),
        };
        let bytes = postcard::to_allocvec(&reply).unwrap();
        assert_eq!(
            postcard::from_bytes::<SystemInfoReply>(&bytes).unwrap(),
            reply
        );
    }
}
