//! Permission scopes: what a technician may do, as one typed set.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One permission the end user can grant, refuse or revoke.
///
/// Each scope has a fixed bit in [`ScopeSet`]; new scopes take new bits, so a peer that
/// does not know a scope simply never grants it (see [`ScopeSet::from_bits_truncate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// See the screen.
    ViewScreen,
    /// Move the pointer, click, scroll and type.
    ControlInput,
    /// Read and write the clipboard.
    Clipboard,
    /// Send and receive files.
    FileTransfer,
    /// Read system information (hardware, OS, installed software).
    SystemInfo,
    /// Run built-in diagnostics (network, disk, processes).
    Diagnostics,
    /// Run commands.
    RunCommands,
    /// Record the session.
    RecordSession,
}

impl Scope {
    /// Every scope this version knows, in display order.
    pub const ALL: [Scope; 8] = [
        Scope::ViewScreen,
        Scope::ControlInput,
        Scope::Clipboard,
        Scope::FileTransfer,
        Scope::SystemInfo,
        Scope::Diagnostics,
        Scope::RunCommands,
        Scope::RecordSession,
    ];

    /// The stable short name used on command lines, in configuration and in audit logs.
    pub const fn id(self) -> &'static str {
        match self {
            Scope::ViewScreen => "view",
            Scope::ControlInput => "input",
            Scope::Clipboard => "clipboard",
            Scope::FileTransfer => "files",
            Scope::SystemInfo => "sysinfo",
            Scope::Diagnostics => "diagnostics",
            Scope::RunCommands => "commands",
            Scope::RecordSession => "record",
        }
    }

    const fn bit(self) -> u32 {
        1 << match self {
            Scope::ViewScreen => 0,
            Scope::ControlInput => 1,
            Scope::Clipboard => 2,
            Scope::FileTransfer => 3,
            Scope::SystemInfo => 4,
            Scope::Diagnostics => 5,
            Scope::RunCommands => 6,
            Scope::RecordSession => 7,
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(self.id())
        } else {
            serializer.serialize_u32(self.bit())
        }
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let name = String::deserialize(deserializer)?;
            name.parse().map_err(serde::de::Error::custom)
        } else {
            let bit = u32::deserialize(deserializer)?;
            Scope::ALL
                .into_iter()
                .find(|scope| scope.bit() == bit)
                .ok_or_else(|| serde::de::Error::custom("unknown permission bit"))
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A scope name that no scope has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission {given:?}; known permissions are: {known}")]
pub struct UnknownScope {
    /// What was given.
    pub given: String,
    /// The known names, comma-separated.
    pub known: String,
}

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Scope::ALL
            .into_iter()
            .find(|scope| scope.id().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownScope {
                given: wanted.to_owned(),
                known: ScopeSet::all().to_string(),
            })
    }
}

/// A set of [`Scope`]s. On the wire it is a bit mask; unknown bits are dropped when read.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u32);

impl ScopeSet {
    /// No permission at all.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Every scope this version knows.
    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    /// The set with the bits of `bits` that name known scopes; other bits are dropped.
    pub fn from_bits_truncate(bits: u32) -> Self {
        Self(bits & Self::all().0)
    }

    /// The raw bit mask.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether `scope` is in the set.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether every scope of `other` is in this set.
    pub const fn is_superset(self, other: ScopeSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set holds no scope.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Adds `scope`.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    /// Removes `scope`.
    pub fn remove(&mut self, scope: Scope) {
        self.0 &= !scope.bit();
    }

    /// The scopes in both sets.
    #[must_use]
    pub const fn intersection(self, other: ScopeSet) -> Self {
        Self(self.0 & other.0)
    }

    /// The scopes in either set.
    #[must_use]
    pub const fn union(self, other: ScopeSet) -> Self {
        Self(self.0 | other.0)
    }

    /// The scopes of this set that are not in `other`.
    #[must_use]
    pub const fn difference(self, other: ScopeSet) -> Self {
        Self(self.0 & !other.0)
    }

    /// The scopes in display order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |scope| self.contains(*scope))
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::empty();
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

impl<const N: usize> From<[Scope; N]> for ScopeSet {
    fn from(scopes: [Scope; N]) -> Self {
        scopes.into_iter().collect()
    }
}

impl From<Scope> for ScopeSet {
    fn from(scope: Scope) -> Self {
        Self(scope.bit())
    }
}

/// Comma-separated ids, e.g. `view,input`; an empty set prints as `none`.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(scope.id())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeSet({self})")
    }
}

/// Parses a comma-separated list of ids (`view,input`), or `none`, or `all`.
impl FromStr for ScopeSet {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "none" => Ok(ScopeSet::empty()),
            "all" => Ok(ScopeSet::all()),
            list => list
                .split(',')
                .filter(|part| !part.trim().is_empty())
                .map(Scope::from_str)
                .collect(),
        }
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_seq(self.iter().map(Scope::id))
        } else {
            serializer.serialize_u32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let names = Vec::<String>::deserialize(deserializer)?;
            names
                .iter()
                .map(|name| name.parse::<Scope>())
                .collect::<Result<ScopeSet, _>>()
                .map_err(serde::de::Error::custom)
        } else {
            u32::deserialize(deserializer).map(ScopeSet::from_bits_truncate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_back_to_their_scope() {
        for scope in Scope::ALL {
            assert_eq!(scope.id().parse::<Scope>(), Ok(scope));
        }
        let err = "teleport".parse::<Scope>().unwrap_err();
        assert!(err.to_string().contains("teleport"));
        assert!(err.to_string().contains("view,input"));
    }

    #[test]
    fn set_operations() {
        let granted = ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]);
        assert!(granted.contains(Scope::ViewScreen));
        assert!(!granted.contains(Scope::Clipboard));
        assert!(granted.is_superset(Scope::ControlInput.into()));
        let mut less = granted;
        less.remove(Scope::ControlInput);
        assert_eq!(less, Scope::ViewScreen.into());
        assert_eq!(granted.difference(less), Scope::ControlInput.into());
        assert_eq!(granted.to_string(), "view,input");
        assert_eq!("input, view".parse::<ScopeSet>(), Ok(granted));
        assert_eq!("none".parse::<ScopeSet>(), Ok(ScopeSet::empty()));
        assert_eq!("all".parse::<ScopeSet>(), Ok(ScopeSet::all()));
    }

    #[test]
    fn unknown_bits_from_a_newer_peer_are_dropped() {
        let set = ScopeSet::from_bits_truncate(0xFFFF_FFFF);
        assert_eq!(set, ScopeSet::all());
        let bytes = postcard::to_allocvec(&(1u32 << 31 | 1)).unwrap();
        let decoded: ScopeSet = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(decoded, Scope::ViewScreen.into());
    }

    #[test]
    fn human_readable_form_is_a_list_of_ids() {
        let set = ScopeSet::from([Scope::Clipboard, Scope::RunCommands]);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["clipboard","commands"]"#);
        assert_eq!(serde_json::from_str::<ScopeSet>(&json).unwrap(), set);
    }
}
