//! The notes domain as the API and the web front end both see it: the JSON
//! wire types and the validation rules, so the browser can show the same
//! errors the server would return without a round trip.

use serde::{Deserialize, Serialize};

/// The longest title we accept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest body we accept, in characters.
pub const MAX_BODY_CHARS: usize = 10_000;

/// A stored note, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub body: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// What a client sends to create a note.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub title: String,
    #[serde(default)]
    pub body: String,
}

/// A note that passed validation: trimmed title, its slug, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidNote {
    pub title: String,
    pub slug: String,
    pub body: String,
}

/// One rule a field broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The body of every 4xx and 5xx answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(error: impl Into<String>) -> Self {
        ApiError {
            error: error.into(),
            fields: Vec::new(),
        }
    }

    /// One line for a person: the message, then each field's complaint.
    pub fn to_display_string(&self) -> String {
        let mut text = self.error.clone();
        for field in &self.fields {
            text.push_str(&format!("; {}: {}", field.field, field.message));
        }
        text
    }
}

impl NewNote {
    /// Checks every rule and reports all broken ones at once.
    pub fn validate(&self) -> Result<ValidNote, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = self.title.trim();
        let slug = slug::slugify(title);
        if title.is_empty() {
            errors.push(field_error("title", "must not be empty"));
        } else if title.chars().count() > MAX_TITLE_CHARS {
            errors.push(field_error(
                "title",
                &format!("must be at most {MAX_TITLE_CHARS} characters"),
            ));
        } else if slug.is_none() {
            errors.push(field_error(
                "title",
                "must contain at least one letter or digit",
            ));
        }
        if self.body.chars().count() > MAX_BODY_CHARS {
            errors.push(field_error(
                "body",
                &format!("must be at most {MAX_BODY_CHARS} characters"),
            ));
        }
        match slug {
            Some(slug) if errors.is_empty() => Ok(ValidNote {
                title: title.to_owned(),
                slug,
                body: self.body.clone(),
            }),
            _ => Err(errors),
        }
    }
}

fn field_error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(title: &str, body: &str) -> NewNote {
        NewNote {
            title: title.to_owned(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn a_good_note_is_trimmed_and_slugged() {
        let valid = new("  Crème brûlée recipe ", "eggs").validate().unwrap();
        assert_eq!(valid.title, "Crème brûlée recipe");
        assert_eq!(valid.slug, "creme-brulee-recipe");
        assert_eq!(valid.body, "eggs");
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let errors = new("   ", &"x".repeat(MAX_BODY_CHARS + 1))
            .validate()
            .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "body"]);
        assert_eq!(errors[0].message, "must not be empty");
    }

    #[test]
    fn titles_need_a_letter_and_a_bounded_length() {
        let errors = new("!!!", "").validate().unwrap_err();
        assert_eq!(
            errors[0].message,
            "must contain at least one letter or digit"
        );
        let errors = new(&"é".repeat(MAX_TITLE_CHARS + 1), "")
            .validate()
            .unwrap_err();
        assert_eq!(errors[0].message, "must be at most 200 characters");
        assert!(new(&"é".repeat(MAX_TITLE_CHARS), "").validate().is_ok());
    }

    #[test]
    fn unknown_fields_are_rejected_and_body_defaults() {
        let note: NewNote = serde_json::from_str(r#"{"title":"a"}"#).unwrap();
        assert_eq!(note, new("a", ""));
        assert!(serde_json::from_str::<NewNote>(r#"{"title":"a","tags":[]}"#).is_err());
    }

    #[test]
    fn api_errors_read_as_one_line() {
        let error = ApiError {
            error: "invalid note".to_owned(),
            fields: vec![field_error("title", "must not be empty")],
        };
        assert_eq!(
            error.to_display_string(),
            "invalid note; title: must not be empty"
        );
        let json = serde_json::to_string(&ApiError::new("not found")).unwrap();
        assert_eq!(json, r#"{"error":"not found"}"#);
    }
}
