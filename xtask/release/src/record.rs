//! The release record: package, version, tag, commit — kept in the release
//! tag's annotation, so it travels with the tag (`git fetch --tags`) and
//! whatever comes later (an image's labels, a deploy record) can point at it
//! by tag name. The annotation is the release notes followed by one trailer
//! line, `xtask-release-record: <json>`.

use semver::Version;
use serde::{Deserialize, Serialize};

/// The trailer that holds the record in a tag message.
pub const TRAILER: &str = "xtask-release-record: ";

/// The record's format; readers refuse others.
pub const SCHEMA: &str = "xtask-release/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub schema: String,
    pub package: String,
    pub version: Version,
    pub tag: String,
    /// The release commit the tag points at.
    pub commit: String,
    /// The package's release before this one.
    pub previous_tag: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("tag {tag} was not made by `cargo xtask release` (its message has no {trailer}line)\nhint: release notes come from tags this tool made; list them with `git tag -l '*v*'`", trailer = TRAILER)]
    NoRecord { tag: String },
    #[error("tag {tag} has a release record this version cannot read: {problem}")]
    Unreadable { tag: String, problem: String },
}

/// The tag's whole message: a title, the notes, the record.
pub fn tag_message(record: &ReleaseRecord, notes: &str) -> String {
    let json = serde_json::to_string(record).expect("a record always serializes");
    format!(
        "{} {}\n\n{}\n\n{TRAILER}{json}\n",
        record.package,
        record.version,
        notes.trim_end()
    )
}

/// Reads a message [`tag_message`] wrote: the record and the notes. The
/// message is untrusted (anyone can push a tag): the record must parse, have
/// our schema and name `tag` itself.
pub fn parse_tag_message(tag: &str, message: &str) -> Result<(ReleaseRecord, String), RecordError> {
    let unreadable = |problem: String| RecordError::Unreadable {
        tag: tag.to_string(),
        problem,
    };
    let lines: Vec<&str> = message.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| l.starts_with(TRAILER))
        .ok_or_else(|| RecordError::NoRecord {
            tag: tag.to_string(),
        })?;
    let record: ReleaseRecord =
        serde_json::from_str(&lines[at][TRAILER.len()..]).map_err(|e| unreadable(e.to_string()))?;
    if record.schema != SCHEMA {
        return Err(unreadable(format!(
            "schema {:?}, expected {SCHEMA:?}",
            record.schema
        )));
    }
    if record.tag != tag {
        return Err(unreadable(format!("it names tag {:?}", record.tag)));
    }
    let notes = lines[1.min(at)..at].join("\n").trim().to_string() + "\n";
    Ok((record, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ReleaseRecord {
        ReleaseRecord {
            schema: SCHEMA.into(),
            package: "a".into(),
            version: Version::new(1, 2, 0),
            tag: "a-v1.2.0".into(),
            commit: "c".repeat(40),
            previous_tag: Some("a-v1.1.0".into()),
            date: "2026-12-01".into(),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let message = tag_message(&record(), "### Added\n\n- x\n");
        let (back, notes) = parse_tag_message("a-v1.2.0", &message).unwrap();
        assert_eq!(back, record());
        assert_eq!(notes, "### Added\n\n- x\n");
        assert!(matches!(
            parse_tag_message("a-v9.0.0", &message),
            Err(RecordError::Unreadable { .. })
        ));
        assert!(matches!(
            parse_tag_message("t", "just a tag"),
            Err(RecordError::NoRecord { .. })
        ));
        let bad = format!("x\n\n{TRAILER}{{\"schema\": 1}}");
        assert!(matches!(
            parse_tag_message("t", &bad),
            Err(RecordError::Unreadable { .. })
        ));
    }
}
