//! From a change's impact to the next version, with Cargo's 0.x rules: below
//! 1.0 the leftmost non-zero component is the "major" one.

use semver::Version;
use serde::Serialize;

use crate::conventional::Impact;

/// Which component of a version a release increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

impl std::fmt::Display for Bump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        })
    }
}

/// The bump `impact` calls for at `version`: 1.x as semver says; 0.y
/// (y ≥ 1): breaking → minor, feature and fix → patch; 0.0.z: patch.
pub fn bump_for(version: &Version, impact: Impact) -> Option<Bump> {
    let bump = match impact {
        Impact::None => return None,
        Impact::Fix => Bump::Patch,
        Impact::Feature if version.major == 0 => Bump::Patch,
        Impact::Feature => Bump::Minor,
        Impact::Breaking if version.major > 0 => Bump::Major,
        Impact::Breaking if version.minor > 0 => Bump::Minor,
        Impact::Breaking => Bump::Patch,
    };
    Some(bump)
}

/// `version` with `bump` applied (pre-release and build metadata dropped).
pub fn apply(version: &Version, bump: Bump) -> Version {
    match bump {
        Bump::Major => Version::new(version.major + 1, 0, 0),
        Bump::Minor => Version::new(version.major, version.minor + 1, 0),
        Bump::Patch => Version::new(version.major, version.minor, version.patch + 1),
    }
}

/// True when a `^old` requirement accepts `new` (Cargo's compatibility).
pub fn compatible(old: &Version, new: &Version) -> bool {
    match (old.major, new.major) {
        (0, 0) if old.minor == 0 && new.minor == 0 => old.patch == new.patch,
        (0, 0) => old.minor == new.minor,
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(v: &str, impact: Impact) -> String {
        let v = Version::parse(v).unwrap();
        bump_for(&v, impact).map_or("none".into(), |b| apply(&v, b).to_string())
    }

    #[test]
    fn one_x_and_zero_x_rules() {
        let table = [
            ("1.2.3", Impact::Breaking, "2.0.0"),
            ("1.2.3", Impact::Feature, "1.3.0"),
            ("1.2.3", Impact::Fix, "1.2.4"),
            ("1.2.3", Impact::None, "none"),
            ("0.3.1", Impact::Breaking, "0.4.0"),
            ("0.3.1", Impact::Feature, "0.3.2"),
            ("0.3.1", Impact::Fix, "0.3.2"),
            ("0.0.4", Impact::Breaking, "0.0.5"),
            ("1.0.0-rc.1", Impact::Fix, "1.0.1"),
        ];
        for (v, impact, want) in table {
            assert_eq!(next(v, impact), want, "{v} {impact:?}");
        }
    }

    #[test]
    fn compatibility_is_cargos() {
        let c =
            |a: &str, b: &str| compatible(&Version::parse(a).unwrap(), &Version::parse(b).unwrap());
        assert!(c("1.2.0", "1.9.0"));
        assert!(!c("1.2.0", "2.0.0"));
        assert!(c("0.3.1", "0.3.2"));
        assert!(!c("0.3.1", "0.4.0"));
        assert!(!c("0.0.1", "0.0.2"));
    }
}
