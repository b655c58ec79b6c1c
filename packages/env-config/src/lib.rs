//! 12-factor configuration: read typed values from environment variables and
//! fail at startup with an error that names the variable, the value and why.
//!
//! The variables are read once into [`Vars`], so tests pass a map instead of
//! mutating the process environment (which is shared between test threads).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

/// A configuration mistake; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required but not set")]
    Missing { name: String },
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Vars {
    /// The process environment (variables that are not valid UTF-8 are skipped).
    pub fn from_process() -> Self {
        Self::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Vars {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value, with an empty one treated as unset (as most shells and
    /// orchestrators make it impossible to tell the two apart reliably).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::Missing {
            name: name.to_owned(),
        })
    }

    /// Parses the variable with `FromStr`, or returns `default` when unset.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    reason: e.to_string(),
                }),
        }
    }

    /// Like [`Vars::parse_or`], then checks the value with `check`, which
    /// returns the reason it is wrong.
    pub fn parse_checked<T>(
        &self,
        name: &str,
        default: T,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let value = self.parse_or(name, default)?;
        check(&value).map_err(|reason| ConfigError::Invalid {
            name: name.to_owned(),
            value: self.get(name).unwrap_or("").to_owned(),
            reason,
        })?;
        Ok(value)
    }

    /// One of a fixed set of words (case-insensitive), or `default` when unset.
    pub fn one_of<'a>(
        &self,
        name: &str,
        allowed: &[&'a str],
        default: &'a str,
    ) -> Result<&'a str, ConfigError> {
        let Some(value) = self.get(name) else {
            return Ok(default);
        };
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(value.trim()))
            .copied()
            .ok_or_else(|| ConfigError::Invalid {
                name: name.to_owned(),
                value: value.to_owned(),
                reason: format!("expected one of: {}", allowed.join(", ")),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn unset_and_empty_take_the_default() {
        let v = vars(&[("PORT", "  ")]);
        assert_eq!(v.parse_or("PORT", 8080u16), Ok(8080));
        assert_eq!(v.parse_or("OTHER", 1u8), Ok(1));
        assert_eq!(
            vars(&[("PORT", " 3000 ")]).parse_or("PORT", 8080u16),
            Ok(3000)
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = vars(&[("PORT", "eighty")])
            .parse_or("PORT", 8080u16)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"PORT="eighty" is invalid: invalid digit found in string"#
        );
        let err = vars(&[]).required("DATABASE_URL").unwrap_err();
        assert_eq!(err.to_string(), "DATABASE_URL is required but not set");
    }

    #[test]
    fn checks_and_word_lists() {
        let v = vars(&[("POOL", "0"), ("FORMAT", "JSON"), ("LEVEL", "loud")]);
        let err = v
            .parse_checked("POOL", 5u32, |n| {
                (*n > 0)
                    .then_some(())
                    .ok_or_else(|| "must be at least 1".to_owned())
            })
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"POOL="0" is invalid: must be at least 1"#
        );
        assert_eq!(v.one_of("FORMAT", &["text", "json"], "text"), Ok("json"));
        assert_eq!(v.one_of("UNSET", &["text", "json"], "text"), Ok("text"));
        let err = v
            .one_of("LEVEL", &["quiet", "normal"], "normal")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"LEVEL="loud" is invalid: expected one of: quiet, normal"#
        );
    }
}
