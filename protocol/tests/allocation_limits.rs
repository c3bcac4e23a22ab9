//! Decoding never allocates more than the channel limit, whatever the bytes claim.
//!
//! A counting global allocator records the largest single allocation while hostile
//! input is decoded. This binary holds only these tests so nothing else allocates in
//! between.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use lifeline_protocol::framing::{CONTROL_FRAME_LIMIT, ControlReader, decode_video_frame};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: delegates every call to the system allocator unchanged; it only records sizes.
#[allow(
    unsafe_code,
    reason = "a global allocator must implement an unsafe trait"
)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn largest_allocation_while(f: impl FnOnce()) -> usize {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    LARGEST.store(0, Ordering::SeqCst);
    f();
    LARGEST.load(Ordering::SeqCst)
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn a_4_gigabyte_prefix_allocates_nothing_large() {
    let largest = largest_allocation_while(|| {
        let result = ControlReader::new().feed(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(result.is_err());
    });
    assert!(
        largest < 4096,
        "allocated {largest} bytes for a refused prefix"
    );
}

#[test]
fn a_collection_claiming_billions_of_elements_stays_within_the_frame() {
    // Hello (variant 0) whose version list claims 2^40 entries, followed by a few bytes.
    let mut body = vec![0u8];
    body.extend(varint(1 << 40));
    body.extend([1, 2, 3, 4]);
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(&body);
    let largest = largest_allocation_while(|| {
        assert!(ControlReader::new().feed(&frame).is_err());
    });
    assert!(largest <= 1024 * 1024, "allocated {largest} bytes");

    // A chat line (variant 18) claiming a 2^60-byte string.
    let mut body = vec![18u8];
    body.extend(varint(1 << 60));
    body.extend(b"short");
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(&body);
    let largest = largest_allocation_while(|| {
        assert!(ControlReader::new().feed(&frame).is_err());
    });
    assert!(largest <= 4096, "allocated {largest} bytes");
}

#[test]
fn a_frame_arriving_slowly_is_buffered_up_to_its_length_only() {
    let declared = CONTROL_FRAME_LIMIT as u32;
    let largest = largest_allocation_while(|| {
        let mut reader = ControlReader::new();
        reader.feed(&declared.to_be_bytes()).unwrap();
        // The whole body but its last byte, in small pieces.
        let piece = [0u8; 4096];
        for _ in 0..(CONTROL_FRAME_LIMIT / piece.len()) - 1 {
            reader.feed(&piece).unwrap();
        }
        reader.feed(&piece[..piece.len() - 1]).unwrap();
    });
    assert!(
        largest <= 4 + CONTROL_FRAME_LIMIT,
        "allocated {largest} bytes"
    );
}

#[test]
fn a_video_header_claiming_a_huge_payload_allocates_nothing() {
    let largest = largest_allocation_while(|| {
        let _ = decode_video_frame(&[0, 0, 0, 200, 1, 2, 3]);
    });
    assert!(largest < 4096, "allocated {largest} bytes");
}
