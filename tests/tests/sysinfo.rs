//! System information and diagnostics with the real binaries on Xvfb: what the
//! technician's viewer receives is what this machine's `/proc` says, a diagnostic tells
//! an open loopback port from a closed one, and the agent's audit log names each
//! request (the diagnostic with its argument) and that an answer was sent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use lifeline_tests::{Agent, ViewerRun, Xvfb, run_headless_viewer};

/// Runs the headless viewer with `script` and `scopes` against a fresh agent whose end
/// user allows everything; returns the run and the agent (for its audit log).
fn run_script(script: &str, scopes: &str) -> (ViewerRun, Agent) {
    let x = Xvfb::start(640, 480);
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.txt");
    std::fs::write(&path, script).unwrap();
    let run = run_headless_viewer(
        &agent.address,
        &agent.code(),
        &[
            "--scopes",
            scopes,
            "--input-script",
            &path.display().to_string(),
        ],
    );
    drop(x);
    (run, agent)
}

fn proc_meminfo_total_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    kib * 1024
}

#[test]
fn the_technician_reads_what_proc_says_about_this_machine() {
    let (run, agent) = run_script("sysinfo\n", "view,sysinfo");
    assert!(run.success, "{}", run.stderr);
    let stats = run.stats.expect("statistics");
    let record = &stats["system_info"][0];
    assert_eq!(record["outcome"], "report", "{stats}");
    let report = &record["report"];
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(report["host_name"], host_name.trim());
    assert_eq!(report["memory_total_bytes"], proc_meminfo_total_bytes());
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(report["kernel"], format!("Linux {}", release.trim()));
    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    assert_eq!(report["cpu_count"], cpus);
    assert_eq!(report["lifeline_version"], env!("CARGO_PKG_VERSION"));
    // The display the agent shares, as capture sees it.
    let displays = report["displays"].as_array().unwrap();
    assert!(
        displays
            .iter()
            .any(|d| d["width"] == 640 && d["height"] == 480),
        "{displays:?}"
    );
    let disks = report["disks"].as_array().unwrap();
    assert!(
        disks.iter().any(|d| d["mount_point"] == "/"
            && d["total_bytes"].as_u64().unwrap() > 0
            && d["free_bytes"].as_u64() <= d["total_bytes"].as_u64()),
        "{disks:?}"
    );
    assert!(
        !disks.iter().any(|d| d["file_system"] == "proc"),
        "{disks:?}"
    );
    let interfaces = report["interfaces"].as_array().unwrap();
    let lo = interfaces.iter().find(|i| i["name"] == "lo").unwrap();
    assert!(
        lo["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["address"] == "127.0.0.1" && a["prefix_len"] == 8),
        "{lo}"
    );

    // The request and the answer are audited; what the report said is not.
    let audit = agent.audit_lines();
    assert!(audit.iter().any(|line| {
        line["action"]["action_requested"]["message"] == "system-info-request"
            && line["scope"] == "sysinfo"
    }));
    assert!(audit.iter().any(|line| {
        line["action"]["action"]["message"] == "system-info"
            && line["action"]["action"]["summary"] == "system report sent"
    }));
}

#[test]
fn diagnostics_tell_an_open_loopback_port_from_a_closed_one() {
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let script = format!(
        "diagnose tcp 127.0.0.1:{open_port}\n\
         diagnose tcp 127.0.0.1:{closed_port}\n\
         diagnose dns localhost\n\
         diagnose disk\n\
         diagnose memory\n"
    );
    let (run, agent) = run_script(&script, "view,diagnostics");
    assert!(run.success, "{}", run.stderr);
    let stats = run.stats.expect("statistics");
    let results = stats["diagnostics"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{stats}");
    let [open_result, closed_result, dns, disk, memory] = results.as_slice() else {
        unreachable!()
    };
    assert_eq!(open_result["status"], "ok", "{open_result}");
    assert_eq!(open_result["argument"], format!("127.0.0.1:{open_port}"));
    assert_eq!(closed_result["status"], "failed", "{closed_result}");
    assert!(
        closed_result["details"][0]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{closed_result}"
    );
    assert_eq!(dns["status"], "ok", "{dns}");
    assert!(
        dns["summary"]
            .as_str()
            .unwrap()
            .starts_with("localhost resolves to"),
        "{dns}"
    );
    assert_ne!(disk["status"], "unavailable", "{disk}");
    assert!(
        disk["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|line| line.as_str().unwrap().starts_with("/: ")),
        "{disk}"
    );
    assert_ne!(memory["status"], "unavailable", "{memory}");
    assert!(
        memory["summary"]
            .as_str()
            .unwrap()
            .contains("memory available")
    );

    // The agent really knocked on the open port.
    open.set_nonblocking(true).unwrap();
    assert!(open.accept().is_ok(), "no connection reached the open port");

    // Each diagnostic is audited with its name and argument.
    let audit = agent.audit_lines();
    for argument in [
        format!("tcp 127.0.0.1:{open_port}"),
        "dns localhost".to_owned(),
        "disk".to_owned(),
    ] {
        assert!(
            audit.iter().any(|line| {
                line["action"]["action_requested"]["message"] == "run-diagnostic"
                    && line["action"]["action_requested"]["summary"] == argument.as_str()
                    && line["scope"] == "diagnostics"
            }),
            "{argument} is not in the audit log"
        );
    }
}

#[test]
fn without_the_permission_the_viewer_asks_nothing() {
    // The end user grants only what is asked: the screen, not system information.
    let (run, agent) = run_script("sysinfo\n", "view");
    assert!(!run.success, "a refused request must fail the run");
    assert!(
        run.stderr.contains("\"sysinfo\" permission"),
        "{}",
        run.stderr
    );
    assert!(
        !agent
            .audit_lines()
            .iter()
            .any(|line| line["action"]["action_requested"]["message"] == "system-info-request")
    );
}
