//! Refuses to build for x86/x86-64 without `nasm`.
//!
//! openh264-sys2 assembles openh264's SIMD routines with `nasm` if it finds it (the
//! `NASM` variable, else `nasm` on `PATH`) and otherwise quietly builds the plain C
//! version, which encodes 2.5-3x slower. Failing here turns that silent slowdown into
//! a build error that says what to install. `src/backend/assembly.rs` additionally
//! makes the link fail if the assembly is missing for any other reason.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=NASM");
    println!("cargo:rerun-if-env-changed=PATH");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if arch != "x86" && arch != "x86_64" {
        return;
    }
    let nasm = env::var_os("NASM").map_or_else(|| PathBuf::from("nasm"), PathBuf::from);
    let works = Command::new(&nasm)
        .arg("-v")
        .output()
        .is_ok_and(|output| output.status.success());
    if !works {
        panic!(
            "\n\nlifeline-codec: `{}` was not found or does not run.\n\
             openh264 would silently be built without its x86 assembly and encode 2.5-3x slower.\n\
             Install nasm (Debian/Ubuntu: `apt-get install nasm`, macOS: `brew install nasm`,\n\
             Windows: `winget install nasm` and add it to PATH) or point the NASM variable at it.\n\n",
            nasm.display()
        );
    }
}
