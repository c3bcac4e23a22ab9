//! A System V shared memory segment attached both here and in the X server, so that
//! `shm::GetImage` writes pixels straight into our address space.
//!
//! The segment is marked for removal (`IPC_RMID`) right after we attach it: the kernel
//! frees it once both processes have detached, even if the agent crashes. Linux lets
//! the X server attach a segment already marked for removal.

#![allow(
    unsafe_code,
    reason = "System V shared memory (shmget/shmat/shmdt) has no safe wrapper"
)]

use std::io;
use std::ptr::NonNull;

use x11rb::connection::Connection;
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::rust_connection::RustConnection;

/// Why a segment could not be set up.
#[derive(Debug, thiserror::Error)]
pub(super) enum ShmError {
    /// The kernel refused (`shmget`/`shmat`/`shmctl`).
    #[error("{call} failed: {source}")]
    Kernel {
        /// The failing call.
        call: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The X server refused to attach it (for example on another host or in another IPC
    /// namespace), or the connection failed.
    #[error("the X server cannot attach the segment: {0}")]
    Server(String),
}

/// A segment of `len` bytes, mapped read-write here and attached to the X server as
/// [`ShmSegment::seg`]. Dropping it unmaps it here; detaching it from the server is the
/// owner's job ([`ShmSegment::detach`]), as it needs the connection.
#[derive(Debug)]
pub(super) struct ShmSegment {
    addr: NonNull<u8>,
    len: usize,
    seg: shm::Seg,
}

// SAFETY: the segment is plain memory owned by this value; nothing in it is tied to
// the thread that mapped it, and all access goes through `&self`/`&mut self`.
unsafe impl Send for ShmSegment {}

impl ShmSegment {
    /// Creates a segment of `len` bytes and attaches it to the server (one round trip).
    pub(super) fn create(conn: &RustConnection, len: usize) -> Result<Self, ShmError> {
        // SAFETY: plain syscall wrapper; IPC_PRIVATE always creates a new segment and
        // the arguments are valid values.
        let shmid = unsafe { libc::shmget(libc::IPC_PRIVATE, len, libc::IPC_CREAT | 0o600) };
        if shmid < 0 {
            return Err(kernel("shmget"));
        }
        // SAFETY: `shmid` is the segment just created; a null address lets the kernel
        // choose where to map it. The result is checked below.
        let addr = unsafe { libc::shmat(shmid, std::ptr::null(), 0) };
        let attach_error = (addr.addr() == usize::MAX).then(|| kernel("shmat"));
        // SAFETY: marks our own segment for removal; a null buffer is allowed for
        // IPC_RMID. Done before anything else can fail so that the segment never
        // outlives its users.
        let removed = unsafe { libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut()) };
        if let Some(error) = attach_error {
            return Err(error);
        }
        let Some(addr) = NonNull::new(addr.cast::<u8>()) else {
            return Err(ShmError::Kernel {
                call: "shmat",
                source: io::Error::other("null address"),
            });
        };
        // From here on, dropping `segment` unmaps it.
        let mut segment = Self { addr, len, seg: 0 };
        if removed < 0 {
            return Err(kernel("shmctl(IPC_RMID)"));
        }
        let seg = conn
            .generate_id()
            .map_err(|e| ShmError::Server(e.to_string()))?;
        let shmid = u32::try_from(shmid).map_err(|e| ShmError::Server(e.to_string()))?;
        conn.shm_attach(seg, shmid, false)
            .map_err(|e| ShmError::Server(e.to_string()))?
            .check()
            .map_err(|e| ShmError::Server(e.to_string()))?;
        segment.seg = seg;
        Ok(segment)
    }

    /// The server-side name of the segment.
    pub(super) fn seg(&self) -> shm::Seg {
        self.seg
    }

    /// Size in bytes.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The segment's bytes, as the X server last wrote them.
    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `addr` points to a live mapping of `len` bytes (shmat succeeded and
        // shmdt only runs in Drop). The kernel zero-fills new segments, so every byte is
        // initialised. The X server writes into it only while a `shm::GetImage` request
        // is being served, and those are sent through `&mut self` of the owner, which
        // cannot coexist with this shared borrow.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr(), self.len) }
    }

    /// Tells the server to detach the segment and waits for the answer; the local
    /// mapping goes when `self` drops.
    pub(super) fn detach(self, conn: &RustConnection) -> Result<(), ShmError> {
        conn.shm_detach(self.seg)
            .map_err(|e| ShmError::Server(e.to_string()))?
            .check()
            .map_err(|e| ShmError::Server(e.to_string()))
    }
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        // SAFETY: `addr` is the address shmat returned and is not used after this.
        let result = unsafe { libc::shmdt(self.addr.as_ptr().cast()) };
        if result < 0 {
            tracing::warn!(error = %io::Error::last_os_error(), "shmdt failed");
        }
    }
}

fn kernel(call: &'static str) -> ShmError {
    ShmError::Kernel {
        call,
        source: io::Error::last_os_error(),
    }
}
