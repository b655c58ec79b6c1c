//! One grammar for the sizes and durations every setting takes, wherever it
//! is written (manifest, environment, command line):
//!
//! - sizes: a number, optionally with a fraction, then a unit — `b`, `k`/`kb`,
//!   `m`/`mb`, `g`/`gb`, `t`/`tb` (powers of 1000) or `kib`, `mib`, `gib`,
//!   `tib` (powers of 1024), any case, a space allowed; a bare number is bytes:
//!   `4096`, `512MiB`, `1.5GiB`, `10 GB`;
//! - durations: a number, optionally with a fraction, then `ms`, `s`, `m`/`min`,
//!   `h`, `d` or `w`; a bare number is seconds: `30`, `250ms`, `1.5h`, `14d`.
//!
//! Whether zero is allowed is the caller's business.

use std::time::Duration;

/// How to write a size, for error messages.
pub const SIZE_HINT: &str =
    "a size such as \"500MB\", \"1.5GiB\" or \"10GiB\" (a bare number is bytes)";
/// How to write a duration, for error messages.
pub const DURATION_HINT: &str =
    "a duration such as \"30s\", \"250ms\", \"2m\", \"1.5h\" or \"14d\" (a bare number is seconds)";

pub fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = split(text)?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return None,
    };
    scale(number, factor)
}

pub fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = split(text)?;
    let millis: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    scale(number, millis).map(Duration::from_millis)
}

/// The number (digits, at most one `.` inside) and the unit after it.
fn split(text: &str) -> Option<(&str, &str)> {
    let text = text.trim();
    let end = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    let well_formed = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.matches('.').count() <= 1;
    well_formed.then_some((number, unit.trim()))
}

/// `number × factor` exactly for whole numbers, rounded down for fractions;
/// `None` on overflow.
fn scale(number: &str, factor: u64) -> Option<u64> {
    match number.split_once('.') {
        None => number.parse::<u64>().ok()?.checked_mul(factor),
        Some((whole, fraction)) => {
            let whole = whole.parse::<u64>().ok()?.checked_mul(factor)?;
            // Up to 9 fractional digits: enough for any unit here.
            let digits = &fraction[..fraction.len().min(9)];
            let numerator: u64 = digits.parse().ok()?;
            let denominator = 10u64.pow(digits.len() as u32);
            let part =
                (u128::from(numerator) * u128::from(factor) / u128::from(denominator)) as u64;
            whole.checked_add(part)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("10 GB"), Some(10_000_000_000));
        assert_eq!(parse_size("2gib"), Some(2 << 30));
        assert_eq!(parse_size("0"), Some(0));
        for bad in [
            "",
            "ten",
            "5 parsecs",
            "1..5GiB",
            ".5GiB",
            "5.GiB",
            "-1",
            "99999999999TiB",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("14d"),
            Some(Duration::from_secs(14 * 86_400))
        );
        assert_eq!(parse_duration("2w"), Some(Duration::from_secs(14 * 86_400)));
        for bad in ["", "soon", "3 fortnights", "1.2.3s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
