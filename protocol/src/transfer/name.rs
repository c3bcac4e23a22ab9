//! File names that are safe to create, and sizes in words.
//!
//! A name from the other side is never trusted: [`safe_file_name`] keeps it a single,
//! visible file name inside the folder chosen by the receiver, and [`numbered_name`]
//! gives the next free name so that an existing file is never overwritten.

use super::MAX_FILE_NAME_LEN;

/// Room kept at the end of a safe name for a " (123)" counter.
const COUNTER_ROOM: usize = 16;

/// Characters that are not allowed in a name: path separators, characters Windows
/// refuses, and the invisible formatting characters that can make a name read
/// differently from what it is (e.g. U+202E turns `fdp.exe` around).
fn is_refused(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*'
                | '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Names Windows keeps for devices, whatever the extension.
const DEVICE_NAMES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// `name` made into one safe file name: separators, control and invisible formatting
/// characters become `_`; runs of dots become one dot (no `..`); leading dots and
/// spaces and trailing dots and spaces go (no hidden files, nothing Windows trims);
/// device names get a `_` in front; an empty result is `file`. The result is at most
/// [`MAX_FILE_NAME_LEN`] minus room for a counter, cut on a character boundary and
/// keeping a short extension.
pub fn safe_file_name(name: &str) -> String {
    let mut safe = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if is_refused(c) { '_' } else { c };
        if c == '.' && safe.ends_with('.') {
            continue;
        }
        safe.push(c);
    }
    let mut safe = safe
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
        .to_owned();
    if safe.is_empty() {
        safe = "file".to_owned();
    }
    let stem = safe.split('.').next().unwrap_or_default().trim_end();
    if DEVICE_NAMES.iter().any(|d| d.eq_ignore_ascii_case(stem)) {
        safe.insert(0, '_');
    }
    shorten(&safe, MAX_FILE_NAME_LEN - COUNTER_ROOM)
}

/// Cuts `name` to at most `limit` bytes, keeping an extension of up to 16 bytes.
fn shorten(name: &str, limit: usize) -> String {
    if name.len() <= limit {
        return name.to_owned();
    }
    let (stem, extension) = split_extension(name);
    let extension = if extension.len() <= 16 { extension } else { "" };
    let mut end = limit - extension.len();
    while !stem.is_char_boundary(end.min(stem.len())) {
        end -= 1;
    }
    let stem = stem[..end.min(stem.len())].trim_end_matches(['.', ' ']);
    format!("{stem}{extension}")
}

/// `report.pdf` -> (`report`, `.pdf`); a name starting with its only dot has no
/// extension.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    }
}

/// The `n`th alternative to `name` when it is taken: `report.pdf`, then
/// `report (1).pdf`, `report (2).pdf`… (`n` = 0 is the name itself).
pub fn numbered_name(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    let (stem, extension) = split_extension(name);
    format!("{stem} ({n}){extension}")
}

/// A size for people, in decimal units: `512 bytes`, `2.4 MB`, `4.3 GB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "kB")];
    for (unit, name) in UNITS {
        if bytes >= unit {
            // Sizes are at most a few GB: the f64 is exact enough for one decimal.
            return format!("{:.1} {name}", bytes as f64 / unit as f64);
        }
    }
    if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_stay_as_they_are() {
        assert_eq!(safe_file_name("report.pdf"), "report.pdf");
        assert_eq!(
            safe_file_name("Résumé 2024 (final).docx"),
            "Résumé 2024 (final).docx"
        );
        assert_eq!(safe_file_name("报告.txt"), "报告.txt");
    }

    #[test]
    fn traversal_and_separators_become_one_plain_name() {
        for hostile in [
            "../../etc/passwd",
            "..\\..\\Windows\\System32\\evil.dll",
            "/etc/cron.d/job",
            "C:\\Users\\ann\\x.exe",
            "..",
            ".",
            "a/../../b",
        ] {
            let safe = safe_file_name(hostile);
            assert!(
                !safe.contains('/') && !safe.contains('\\'),
                "{hostile} -> {safe}"
            );
            assert!(!safe.contains(".."), "{hostile} -> {safe}");
            assert!(!safe.starts_with('.'), "{hostile} -> {safe}");
            assert!(!safe.is_empty());
        }
        assert_eq!(safe_file_name("../../etc/passwd"), "_._etc_passwd");
        assert_eq!(safe_file_name(".."), "file");
        assert_eq!(safe_file_name(".bashrc"), "bashrc");
    }

    #[test]
    fn hidden_and_misleading_characters_are_replaced() {
        assert_eq!(safe_file_name("a\nb\0c\x1b[31m"), "a_b_c_[31m");
        // U+202E would show "report\u{202E}fdp.exe" as "reportexe.pdf".
        assert_eq!(safe_file_name("report\u{202E}fdp.exe"), "report_fdp.exe");
        assert_eq!(safe_file_name("name. . "), "name");
        assert_eq!(safe_file_name("CON.txt"), "_CON.txt");
        assert_eq!(safe_file_name("con"), "_con");
        assert_eq!(safe_file_name("a:b|c?.txt"), "a_b_c_.txt");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension_and_whole_characters() {
        let long = format!("{}.pdf", "é".repeat(300));
        let safe = safe_file_name(&long);
        assert!(safe.len() <= MAX_FILE_NAME_LEN - COUNTER_ROOM);
        assert!(safe.ends_with(".pdf"));
        assert!(numbered_name(&safe, 999).len() <= MAX_FILE_NAME_LEN);
    }

    #[test]
    fn numbered_names_keep_the_extension() {
        assert_eq!(numbered_name("report.pdf", 0), "report.pdf");
        assert_eq!(numbered_name("report.pdf", 1), "report (1).pdf");
        assert_eq!(numbered_name("README", 2), "README (2)");
        assert_eq!(numbered_name("archive.tar.gz", 3), "archive.tar (3).gz");
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(2_345), "2.3 kB");
        assert_eq!(human_size(2_300_000), "2.3 MB");
        assert_eq!(human_size(4 * 1024 * 1024 * 1024), "4.3 GB");
    }
}
