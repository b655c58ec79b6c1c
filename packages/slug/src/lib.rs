//! URL slugs for item titles: lowercase ASCII words joined by `-`, shared by
//! the API (stable URLs) and the web front end (previews while typing).

/// The longest slug we produce; longer titles are cut at a word boundary.
pub const MAX_LEN: usize = 64;

/// Turns a title into a slug: ASCII letters and digits kept (lowercased),
/// common Latin accents folded (`é` → `e`), everything else a separator.
/// Returns `None` when nothing usable is left (an empty or symbol-only title).
pub fn slugify(title: &str) -> Option<String> {
    let mut slug = String::with_capacity(title.len().min(MAX_LEN));
    let mut pending_dash = false;
    for c in title.chars().flat_map(fold) {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    if slug.len() > MAX_LEN {
        let cut = slug[..=MAX_LEN].rfind('-').unwrap_or(MAX_LEN);
        slug.truncate(cut);
    }
    (!slug.is_empty()).then_some(slug)
}

/// Folds a character to ASCII where a reader would expect it.
fn fold(c: char) -> impl Iterator<Item = char> {
    let folded: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'ø' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ß' => "ss",
        'æ' | 'Æ' => "ae",
        '&' => " and ",
        _ => "",
    };
    let own = folded.is_empty().then_some(c);
    own.into_iter().chain(folded.chars())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_joined_by_single_dashes() {
        assert_eq!(slugify("Hello, World!").as_deref(), Some("hello-world"));
        assert_eq!(slugify("  many   spaces  ").as_deref(), Some("many-spaces"));
        assert_eq!(
            slugify("Rust 2024 edition").as_deref(),
            Some("rust-2024-edition")
        );
    }

    #[test]
    fn accents_and_ampersands_fold() {
        assert_eq!(slugify("Crème Brûlée").as_deref(), Some("creme-brulee"));
        assert_eq!(slugify("Straße & Co").as_deref(), Some("strasse-and-co"));
    }

    #[test]
    fn nothing_usable_is_none() {
        assert_eq!(slugify(""), None);
        assert_eq!(slugify("!!! ???"), None);
        assert_eq!(slugify("日本語"), None);
    }

    #[test]
    fn long_titles_are_cut_at_a_word_boundary() {
        let title = "word ".repeat(40);
        let slug = slugify(&title).unwrap();
        assert!(slug.len() <= MAX_LEN, "{}", slug.len());
        assert!(slug.ends_with("word"));
        let one_long_word = "x".repeat(100);
        assert_eq!(slugify(&one_long_word).unwrap().len(), MAX_LEN);
    }
}
