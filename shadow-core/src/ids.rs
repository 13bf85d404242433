//! Identifiers: resource kinds, environments, services and regions.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A kind of resource that Shadow watches and forecasts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ResourceKind {
    /// CPU, in cores.
    Cpu,
    /// Memory, in bytes.
    Memory,
    /// Network I/O, in bytes per second.
    NetworkIo,
    /// Disk I/O, in bytes per second.
    DiskIo,
    /// Any other metric, such as request rate or queue depth. The name is a validated identifier.
    Custom(String),
}

impl ResourceKind {
    /// The four built-in kinds.
    pub const BUILTIN: [ResourceKind; 4] = [
        ResourceKind::Cpu,
        ResourceKind::Memory,
        ResourceKind::NetworkIo,
        ResourceKind::DiskIo,
    ];

    /// The stable name: `cpu`, `memory`, `network_io`, `disk_io` or the custom name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            ResourceKind::Cpu => "cpu",
            ResourceKind::Memory => "memory",
            ResourceKind::NetworkIo => "network_io",
            ResourceKind::DiskIo => "disk_io",
            ResourceKind::Custom(name) => name,
        }
    }

    /// Creates a custom kind.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless the name is a valid identifier (see [`validate_name`]).
    pub fn custom(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        validate_name("resource kind", &name)?;
        Ok(match name.as_str() {
            "cpu" => ResourceKind::Cpu,
            "memory" => ResourceKind::Memory,
            "network_io" => ResourceKind::NetworkIo,
            "disk_io" => ResourceKind::DiskIo,
            _ => ResourceKind::Custom(name),
        })
    }
}

impl FromStr for ResourceKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "network" | "net" => Ok(ResourceKind::NetworkIo),
            "disk" => Ok(ResourceKind::DiskIo),
            "mem" => Ok(ResourceKind::Memory),
            _ => ResourceKind::custom(s),
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResourceKind {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which copy of a service: the one serving production, or the warm shadow copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The copy that serves production traffic now.
    Live,
    /// The warm copy that traffic moves to.
    Shadow,
}

impl Environment {
    /// Both environments, live first.
    pub const BOTH: [Environment; 2] = [Environment::Live, Environment::Shadow];

    /// The other environment.
    #[must_use]
    pub const fn other(self) -> Self {
        match self {
            Environment::Live => Environment::Shadow,
            Environment::Shadow => Environment::Live,
        }
    }

    /// `live` or `shadow`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Live => "live",
            Environment::Shadow => "shadow",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks that `name` is a safe identifier: 1 to 128 characters of ASCII letters, digits, `-`, `_`, `.` and `/`,
/// starting with a letter or digit.
///
/// Names end up in PromQL queries, etcd keys, nginx configs and file names, so nothing else is allowed.
///
/// # Errors
/// [`Error::InvalidInput`] naming `what` when the name is not valid.
pub fn validate_name(what: &'static str, name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/');
    if name.is_empty() || name.len() > 128 {
        return Err(Error::invalid(
            what,
            format!("`{name}` must be 1 to 128 characters long"),
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            what,
            format!("`{name}` must start with a letter or digit"),
        ));
    }
    if let Some(bad) = name.chars().find(|c| !ok_char(*c)) {
        return Err(Error::invalid(
            what,
            format!("`{name}` contains {bad:?}; use letters, digits, '-', '_', '.' or '/'"),
        ));
    }
    Ok(())
}

macro_rules! name_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Creates the id.
            ///
            /// # Errors
            /// [`Error::InvalidInput`] unless the name passes [`validate_name`].
            pub fn new(name: impl Into<String>) -> Result<Self> {
                let name = name.into();
                validate_name($what, &name)?;
                Ok(Self(name))
            }

            /// The id as a string.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_id!(
    /// The id of a service, for example `checkout` or `payments/api`.
    ServiceId,
    "service id"
);

name_id!(
    /// The id of a region, for example `eu-west-1`.
    RegionId,
    "region id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_kinds_round_trip() {
        for kind in ResourceKind::BUILTIN {
            assert_eq!(kind.as_str().parse::<ResourceKind>().unwrap(), kind);
        }
        assert_eq!(
            "requests".parse::<ResourceKind>().unwrap(),
            ResourceKind::Custom("requests".into())
        );
        assert!("bad kind".parse::<ResourceKind>().is_err());
    }

    #[test]
    fn ids_reject_injection() {
        assert!(ServiceId::new("checkout").is_ok());
        assert!(ServiceId::new("payments/api-v2").is_ok());
        assert!(ServiceId::new("").is_err());
        assert!(ServiceId::new("a; drop").is_err());
        assert!(ServiceId::new("x\"}").is_err());
        assert!(ServiceId::new("-leading").is_err());
        assert!(ServiceId::new("a".repeat(129)).is_err());
    }

    #[test]
    fn environments() {
        assert_eq!(Environment::Live.other(), Environment::Shadow);
        assert_eq!(Environment::Shadow.to_string(), "shadow");
    }
}
