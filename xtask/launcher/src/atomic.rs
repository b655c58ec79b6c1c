//! Writing a file whole: through a temp file and a rename, so that a
//! concurrent reader (another launch, cargo) sees the old file or the new
//! one, never half.

use std::io;
use std::path::Path;

pub fn write(path: &Path, text: &str) -> io::Result<()> {
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}
