//! The three C library calls system information needs and no file offers: the size of
//! a mounted file system (`statvfs`), the addresses of the network interfaces
//! (`getifaddrs`), and the account name of the user the agent runs as (`getpwuid_r`,
//! which also asks LDAP and other name services).

#![allow(
    unsafe_code,
    reason = "statvfs, getifaddrs and getpwuid_r have no safe wrapper in the standard library"
)]

use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use lifeline_protocol::system::InterfaceAddress;

/// Size and space available to unprivileged users of the file system at `path`, in
/// bytes.
#[allow(
    clippy::useless_conversion,
    reason = "the field types are 32 bits wide on 32-bit Linux"
)]
pub(super) fn space(path: &Path) -> io::Result<(u64, u64)> {
    let path = CString::new(path.as_os_str().as_bytes())?;
    let mut stat = MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `path` is a NUL-terminated string and `stat` is writable memory of the
    // type statvfs fills; both outlive the call.
    let result = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs succeeded, so it filled the structure (zeroed before, in any case).
    let stat = unsafe { stat.assume_init() };
    let unit = u64::from(stat.f_frsize);
    Ok((
        u64::from(stat.f_blocks).saturating_mul(unit),
        u64::from(stat.f_bavail).saturating_mul(unit),
    ))
}

/// One entry of `getifaddrs`: an interface, whether it is up, and one of its IP
/// addresses (none for entries of other families, such as the link layer).
#[derive(Clone, Debug)]
pub(super) struct AddressEntry {
    pub(super) name: String,
    pub(super) up: bool,
    pub(super) address: Option<InterfaceAddress>,
}

/// Every entry of `getifaddrs` (empty when the call fails).
pub(super) fn interface_addresses() -> Vec<AddressEntry> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs stores the head of a list it allocated into `head`; the list
    // is freed with freeifaddrs below and not used after.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Vec::new();
    }
    let mut entries = Vec::new();
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned, not freed yet.
        let node = unsafe { &*cursor };
        cursor = node.ifa_next;
        if node.ifa_name.is_null() {
            continue;
        }
        // SAFETY: `ifa_name` is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(node.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: the pointers are null or point at socket addresses owned by the list.
        let address = unsafe { ip_of(node.ifa_addr) }.map(|address| {
            // SAFETY: as above.
            let mask = unsafe { ip_of(node.ifa_netmask) };
            InterfaceAddress {
                address,
                prefix_len: mask.map_or(0, prefix_len),
            }
        });
        entries.push(AddressEntry {
            name,
            up: node.ifa_flags & libc::IFF_UP as libc::c_uint != 0,
            address,
        });
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    entries
}

/// The IP address in a socket address, for IPv4 and IPv6.
///
/// # Safety
/// `addr` is null or points at a socket address as large as its family says.
unsafe fn ip_of(addr: *const libc::sockaddr) -> Option<IpAddr> {
    if addr.is_null() {
        return None;
    }
    // SAFETY: the caller promises a readable socket address; unaligned reads make no
    // assumption about where the library placed it.
    let family = unsafe { std::ptr::read_unaligned(addr) }.sa_family;
    match libc::c_int::from(family) {
        libc::AF_INET => {
            // SAFETY: an AF_INET address is a sockaddr_in.
            let inet = unsafe { std::ptr::read_unaligned(addr.cast::<libc::sockaddr_in>()) };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                inet.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 => {
            // SAFETY: an AF_INET6 address is a sockaddr_in6.
            let inet6 = unsafe { std::ptr::read_unaligned(addr.cast::<libc::sockaddr_in6>()) };
            Some(IpAddr::V6(Ipv6Addr::from(inet6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// The prefix length a network mask stands for (its one bits).
fn prefix_len(mask: IpAddr) -> u8 {
    let ones = match mask {
        IpAddr::V4(mask) => u32::from(mask).count_ones(),
        IpAddr::V6(mask) => u128::from(mask).count_ones(),
    };
    u8::try_from(ones).unwrap_or(u8::MAX)
}

/// The account name of the user the agent runs as; `$USER` or `uid N` when the name
/// services do not know it.
pub(super) fn user_name() -> String {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut size = 1024;
    while size <= 1 << 20 {
        let mut buffer = vec![0 as libc::c_char; size];
        let mut entry = MaybeUninit::<libc::passwd>::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for writes of its size and outlives the call;
        // on success the strings of `entry` point into `buffer`, read below while it
        // is alive.
        let result = unsafe {
            libc::getpwuid_r(
                uid,
                entry.as_mut_ptr(),
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            )
        };
        if result == libc::ERANGE {
            size *= 4;
            continue;
        }
        if result == 0 && !found.is_null() {
            // SAFETY: on success `found` points at `entry`, whose `pw_name` is a
            // NUL-terminated string in `buffer`.
            let name = unsafe { CStr::from_ptr((*found).pw_name) };
            return name.to_string_lossy().into_owned();
        }
        break;
    }
    std::env::var("USER").unwrap_or_else(|_| format!("uid {uid}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn masks_become_prefix_lengths() {
        assert_eq!(prefix_len(IpAddr::from([255, 255, 255, 0])), 24);
        assert_eq!(prefix_len("ffff:ffff:ffff:ffff::".parse().unwrap()), 64);
    }

    #[test]
    fn the_root_file_system_has_a_size() {
        let (total, free) = space(Path::new("/")).unwrap();
        assert!(total > 0 && free <= total);
        assert!(space(Path::new("/no/such/place")).is_err());
    }
}
