//! The `cargo-xtask` binary that `cargo install --path xtask/cli` puts on
//! PATH, so that `cargo xtask …` works in any Cargo workspace without an alias.
//! Cargo runs an external subcommand as `cargo-xtask xtask <args>`: the
//! subcommand's own name comes first and is not one of our arguments.

use std::process::ExitCode;

fn main() -> ExitCode {
    xtask_cli::main(without_subcommand_name(std::env::args_os()))
}

/// The arguments minus the `xtask` that cargo inserts after the program name;
/// run directly (`cargo-xtask run build`) there is none to remove.
fn without_subcommand_name(
    args: impl Iterator<Item = std::ffi::OsString>,
) -> impl Iterator<Item = std::ffi::OsString> {
    let mut args = args.peekable();
    let program = args.next();
    if args.peek().is_some_and(|first| first == "xtask") {
        args.next();
    }
    program.into_iter().chain(args)
}

#[cfg(test)]
mod tests {
    use super::without_subcommand_name;

    fn strip(args: &[&str]) -> Vec<String> {
        without_subcommand_name(args.iter().map(Into::into))
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_name_cargo_passes_is_removed_once() {
        assert_eq!(
            strip(&["cargo-xtask", "xtask", "run", "build"]),
            ["cargo-xtask", "run", "build"]
        );
        assert_eq!(
            strip(&["cargo-xtask", "run", "xtask"]),
            ["cargo-xtask", "run", "xtask"]
        );
        assert_eq!(
            strip(&["cargo-xtask", "xtask", "xtask"]),
            ["cargo-xtask", "xtask"]
        );
        assert_eq!(strip(&["cargo-xtask"]), ["cargo-xtask"]);
    }
}
