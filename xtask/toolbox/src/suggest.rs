//! "Did you mean …?": the candidates closest to a mistyped name.

/// Candidates within a small edit distance of `wrong` (a third of the longer
/// of the two names, at least one), closest first, at most three.
pub fn suggest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    suggest_within(wrong, candidates, |len| (len / 3).max(1))
}

/// As [`suggest`], with the largest distance allowed for a pair of names
/// (given the longer one's length) chosen by the caller.
pub fn suggest_within<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max_distance: impl Fn(usize) -> usize,
) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(wrong, c), c))
        .filter(|(d, c)| *d <= max_distance(c.len().max(wrong.len())))
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_first_with_transpositions() {
        assert_eq!(edit_distance("biuld", "build"), 1);
        assert_eq!(suggest("biuld", ["build", "lint", "bench"]), ["build"]);
        assert_eq!(suggest("zzzzzz", ["build", "lint"]), Vec::<&str>::new());
        assert_eq!(suggest_within("tst", ["test", "lint"], |_| 1), ["test"]);
    }
}
