//! Makes a build without openh264's x86 assembly fail to link.
//!
//! openh264-sys2 compiles the assembly with `nasm` when it can and silently falls back
//! to plain C when it cannot (no `nasm`, a `nasm` too old, or `OPENH264_NO_ASM` set);
//! encoding is then 2.5-3x slower. `build.rs` catches the common cause early with a
//! clear message (no `nasm`). This module catches every cause: it takes the address
//! of one hand-written assembly routine from each openh264 library the crate uses, so
//! if the assembly was not built, linking any test or binary that can create an
//! encoder or decoder fails with "undefined reference to `WelsSampleSad16x16_sse2`"
//! (or one of the others below).
#![allow(
    unsafe_code,
    reason = "declares openh264 assembly symbols to reference them at link time; they are never called"
)]

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86 {
    // The real signatures do not matter: these functions are never called, only
    // referenced so that the linker must find them.
    unsafe extern "C" {
        /// common/x86/satd_sad.asm
        fn WelsSampleSad16x16_sse2();
        /// encoder/core/x86/memzero.asm
        fn WelsBlockZero16x16_sse2();
        /// decoder/core/x86/intra_pred.asm
        fn WelsDecoderI4x4LumaPredH_sse2();
    }

    /// Addresses of the three routines (never null once linked).
    pub(super) fn routines() -> [usize; 3] {
        let routines: [unsafe extern "C" fn(); 3] = [
            WelsSampleSad16x16_sse2,
            WelsBlockZero16x16_sse2,
            WelsDecoderI4x4LumaPredH_sse2,
        ];
        // black_box keeps the references alive through optimisation.
        std::hint::black_box(routines).map(|f| f as usize)
    }
}

/// Forces the link-time dependency on openh264's assembly (x86 and x86-64 only).
/// Returns how many assembly routines were found, 0 on other architectures.
pub(crate) fn require_openh264_assembly() -> usize {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        x86::routines()
            .iter()
            .filter(|&&address| address != 0)
            .count()
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    fn openh264_assembly_is_linked() {
        // Without the assembly this test binary does not even link; if it links, the
        // three routines must have real addresses.
        assert_eq!(super::require_openh264_assembly(), 3);
    }
}
