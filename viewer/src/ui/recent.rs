//! Recent devices: the addresses the technician connected to, newest first, kept as
//! JSON in `<data dir>/recent.json`, with the technician's name so it is typed once.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How many devices are remembered.
pub const MAX_RECENT: usize = 12;
/// The file's name inside the data directory.
pub const FILE_NAME: &str = "recent.json";

/// One remembered device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentDevice {
    /// `host:port` as typed.
    pub address: String,
    /// When it was last connected to, seconds since the Unix epoch.
    pub last_used_unix: u64,
}

/// The content of `recent.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentDevices {
    /// Newest first.
    #[serde(default)]
    pub devices: Vec<RecentDevice>,
    /// The name the technician last gave.
    #[serde(default)]
    pub technician_name: String,
}

/// The data directory used when none is given: the platform's per-user data folder.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "Lifeline", "lifeline-viewer")
        .map(|dirs| dirs.data_dir().to_path_buf())
}

/// Seconds since the Unix epoch now.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl RecentDevices {
    /// Reads the list from `data_dir`; a missing file is an empty list, and a damaged
    /// one is logged and replaced by an empty list (the list is only a convenience).
    pub fn load(data_dir: &Path) -> Self {
        let path = data_dir.join(FILE_NAME);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(path = %path.display(), %error, "recent devices unreadable; starting a new list");
                Self::default()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "recent devices unreadable; starting a new list");
                Self::default()
            }
        }
    }

    /// Writes the list to `data_dir` (creating it), through a temporary file so a crash
    /// never leaves half a file.
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let temporary = data_dir.join(format!("{FILE_NAME}.tmp"));
        std::fs::write(&temporary, json)?;
        std::fs::rename(&temporary, data_dir.join(FILE_NAME))
    }

    /// Puts `address` first with `now` as its last use, dropping its older entry and
    /// anything past [`MAX_RECENT`].
    pub fn remember(&mut self, address: &str, technician_name: &str, now_unix: u64) {
        let address = address.trim();
        self.devices.retain(|device| device.address != address);
        self.devices.insert(
            0,
            RecentDevice {
                address: address.to_owned(),
                last_used_unix: now_unix,
            },
        );
        self.devices.truncate(MAX_RECENT);
        self.technician_name = technician_name.trim().to_owned();
    }
}

/// "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago": how long ago
/// `then_unix` was at `now_unix`.
pub fn describe_age(then_unix: u64, now_unix: u64) -> String {
    let seconds = now_unix.saturating_sub(then_unix);
    match seconds {
        0..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", seconds / 60),
        3_600..86_400 => format!("{} h ago", seconds / 3_600),
        86_400..172_800 => "yesterday".to_owned(),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembering_moves_an_address_to_the_front_once() {
        let mut recent = RecentDevices::default();
        recent.remember("a:1", "Sam", 10);
        recent.remember("b:2", "Sam", 20);
        recent.remember(" a:1 ", "Sam Lee", 30);
        let addresses: Vec<_> = recent.devices.iter().map(|d| d.address.as_str()).collect();
        assert_eq!(addresses, ["a:1", "b:2"]);
        assert_eq!(recent.devices[0].last_used_unix, 30);
        assert_eq!(recent.technician_name, "Sam Lee");
        for i in 0..20 {
            recent.remember(&format!("h{i}:1"), "Sam", 100 + i);
        }
        assert_eq!(recent.devices.len(), MAX_RECENT);
        assert_eq!(recent.devices[0].address, "h19:1");
    }

    #[test]
    fn the_list_survives_a_save_and_load() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().join("nested");
        assert_eq!(RecentDevices::load(&data_dir), RecentDevices::default());
        let mut recent = RecentDevices::default();
        recent.remember("10.0.0.5:7070", "Sam", 1_700_000_000);
        recent.save(&data_dir).expect("saved");
        assert_eq!(RecentDevices::load(&data_dir), recent);
        let json = std::fs::read_to_string(data_dir.join(FILE_NAME)).expect("file");
        assert!(json.contains("\"address\": \"10.0.0.5:7070\""), "{json}");
    }

    #[test]
    fn a_damaged_file_gives_an_empty_list() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").expect("written");
        assert_eq!(RecentDevices::load(dir.path()), RecentDevices::default());
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(describe_age(100, 130), "just now");
        assert_eq!(describe_age(0, 5 * 60), "5 min ago");
        assert_eq!(describe_age(0, 3 * 3_600 + 5), "3 h ago");
        assert_eq!(describe_age(0, 90_000), "yesterday");
        assert_eq!(describe_age(0, 4 * 86_400), "4 days ago");
        assert_eq!(
            describe_age(200, 100),
            "just now",
            "a clock going back is not an error"
        );
    }
}
