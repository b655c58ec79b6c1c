//! Tokens to a small automaton, run over the path's characters with the set
//! of live states (Thompson's construction): time linear in the path for any
//! glob, no backtracking, no regular-expression engine. Globs of the common
//! shapes (`dist/**`, `**/*.rs`, `**/target`, a plain name) skip the
//! automaton for a string comparison.

use crate::Options;
use crate::parse::Token;

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    /// One character; `/` only if `cross`.
    Any {
        cross: bool,
    },
    Class {
        negated: bool,
        ranges: Box<[(char, char)]>,
    },
    /// Any run of characters (`/` only if `cross`), then the next state.
    Star {
        cross: bool,
    },
    Split(Box<[usize]>),
    Jump(usize),
    Match,
}

/// A compiled glob.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    shape: Shape,
    insts: Vec<Inst>,
    case_insensitive: bool,
    /// The automaton as bit masks, for globs of up to 64 states (all but
    /// the longest): an ASCII path then costs a few bit operations a byte.
    small: Option<Box<Masks>>,
}

/// Per ASCII byte, the states that consume it and move on, and the `*`
/// states that consume it and stay; per state, all it reaches without a
/// character.
#[derive(Debug, Clone)]
struct Masks {
    advance: [u64; 128],
    stay: [u64; 128],
    closure: Vec<u64>,
    accept: u64,
}

/// What a glob matches, when that is a string comparison.
#[derive(Debug, Clone)]
enum Shape {
    Exact(String),
    /// `**/name`: the path is `name` or ends in `/name`.
    Basename(String),
    /// `**/*.rs`: any path ending so (`name` holds no `/`).
    EndsWith(String),
    /// `dir/**`: `dir/` then anything.
    StartsWith(String),
    General,
}

impl Program {
    pub(crate) fn new(tokens: &[Token], options: &Options) -> Program {
        let mut insts = Vec::new();
        if tokens == [Token::RecursivePrefix] {
            // The glob `**` matches everything.
            insts.push(Inst::Star { cross: true });
        } else {
            emit(tokens, options, &mut insts);
        }
        insts.push(Inst::Match);
        let shape = if options.case_insensitive {
            Shape::General
        } else {
            shape(tokens)
        };
        let mut program = Program {
            shape,
            insts,
            case_insensitive: options.case_insensitive,
            small: None,
        };
        if matches!(program.shape, Shape::General) && program.insts.len() <= 64 {
            program.small = Some(Box::new(program.masks()));
        }
        program
    }

    fn masks(&self) -> Masks {
        let mut masks = Masks {
            advance: [0; 128],
            stay: [0; 128],
            closure: Vec::with_capacity(self.insts.len()),
            accept: 1 << (self.insts.len() - 1),
        };
        for byte in 0..128u8 {
            for pc in 0..self.insts.len() {
                match self.step(pc, char::from(byte)) {
                    Some(next) if next == pc => masks.stay[usize::from(byte)] |= 1 << pc,
                    Some(_) => masks.advance[usize::from(byte)] |= 1 << pc,
                    None => {}
                }
            }
        }
        let mut stack = Vec::new();
        for pc in 0..self.insts.len() {
            let mut set = [0u64];
            self.add(&mut set, pc, &mut stack);
            masks.closure.push(set[0]);
        }
        masks
    }

    /// The automaton over an ASCII `text`, with the masks.
    fn run_small(masks: &Masks, text: &[u8]) -> bool {
        let close = |mut raw: u64| {
            let mut set = 0;
            while raw != 0 {
                set |= masks.closure[raw.trailing_zeros() as usize];
                raw &= raw - 1;
            }
            set
        };
        let mut current = masks.closure[0];
        for &byte in text {
            let byte = usize::from(byte);
            // A state that consumes moves to the next one; a `*` stays.
            let raw = ((current & masks.advance[byte]) << 1) | (current & masks.stay[byte]);
            if raw == 0 {
                return false;
            }
            current = close(raw);
        }
        current & masks.accept != 0
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        match &self.shape {
            Shape::Exact(literal) => text == literal,
            Shape::Basename(name) => text
                .strip_suffix(name.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('/')),
            Shape::EndsWith(suffix) => text.ends_with(suffix.as_str()),
            Shape::StartsWith(prefix) => text.starts_with(prefix.as_str()),
            Shape::General => match &self.small {
                Some(masks) if text.is_ascii() => Program::run_small(masks, text.as_bytes()),
                _ => self.run(text),
            },
        }
    }

    /// The automaton over `text`.
    fn run(&self, text: &str) -> bool {
        let words = self.insts.len().div_ceil(64);
        let mut inline = [0u64; 8];
        let mut heap;
        let (current, next) = if 2 * words <= inline.len() {
            inline.split_at_mut(words)
        } else {
            heap = vec![0u64; 2 * words];
            heap.split_at_mut(words)
        };
        let next = &mut next[..words];
        let mut stack = Vec::new();
        self.add(current, 0, &mut stack);
        let (mut current, mut next) = (current, next);
        for c in text.chars() {
            next.fill(0);
            let mut live = false;
            for (word_index, &word) in current.iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let pc = word_index * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    live = true;
                    if let Some(target) = self.step(pc, c) {
                        self.add(next, target, &mut stack);
                    }
                }
            }
            if !live {
                return false;
            }
            std::mem::swap(&mut current, &mut next);
        }
        let done = self.insts.len() - 1;
        current[done / 64] & (1 << (done % 64)) != 0
    }

    /// The state reached from `pc` on `c`, if any.
    fn step(&self, pc: usize, c: char) -> Option<usize> {
        let matched = match &self.insts[pc] {
            Inst::Char(want) => {
                *want == c || (self.case_insensitive && want.eq_ignore_ascii_case(&c))
            }
            Inst::Any { cross } => *cross || c != '/',
            Inst::Class { negated, ranges } => self.in_class(ranges, c) != *negated,
            Inst::Star { cross } => return (*cross || c != '/').then_some(pc),
            Inst::Split(_) | Inst::Jump(_) | Inst::Match => false,
        };
        matched.then_some(pc + 1)
    }

    fn in_class(&self, ranges: &[(char, char)], c: char) -> bool {
        let within = |c: char| ranges.iter().any(|&(low, high)| low <= c && c <= high);
        within(c)
            || (self.case_insensitive
                && (within(c.to_ascii_lowercase()) || within(c.to_ascii_uppercase())))
    }

    /// Marks `pc` and every state reachable from it without a character.
    fn add(&self, set: &mut [u64], pc: usize, stack: &mut Vec<usize>) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            let (word, bit) = (pc / 64, 1u64 << (pc % 64));
            if set[word] & bit != 0 {
                continue;
            }
            set[word] |= bit;
            match &self.insts[pc] {
                Inst::Split(targets) => stack.extend(targets.iter().rev()),
                Inst::Jump(target) => stack.push(*target),
                Inst::Star { .. } => stack.push(pc + 1),
                _ => {}
            }
        }
    }
}

/// Appends the states of `tokens`, which continue at the state after them.
fn emit(tokens: &[Token], options: &Options, insts: &mut Vec<Inst>) {
    let cross = !options.literal_separator;
    for token in tokens {
        match token {
            Token::Literal(c) => insts.push(Inst::Char(*c)),
            Token::Any => insts.push(Inst::Any { cross }),
            Token::ZeroOrMore => insts.push(Inst::Star { cross }),
            Token::RecursivePrefix => optional_dirs(insts),
            Token::RecursiveSuffix => {
                insts.push(Inst::Char('/'));
                insts.push(Inst::Star { cross: true });
            }
            Token::RecursiveZeroOrMore => {
                insts.push(Inst::Char('/'));
                optional_dirs(insts);
            }
            Token::Class { negated, ranges } => insts.push(Inst::Class {
                negated: *negated,
                ranges: ranges.clone().into_boxed_slice(),
            }),
            Token::Alternates(branches) => alternates(branches, options, insts),
        }
    }
}

/// Nothing, or anything ending in `/` (the `(?:/?|.*/)` of a leading `**/`).
fn optional_dirs(insts: &mut Vec<Inst>) {
    let split = insts.len();
    insts.push(Inst::Split(Box::new([split + 3, split + 1])));
    insts.push(Inst::Star { cross: true });
    insts.push(Inst::Char('/'));
}

/// `{a,b}`: one branch of those that match something (an empty branch is
/// dropped, as globset drops it), or nothing if none does.
fn alternates(branches: &[Vec<Token>], options: &Options, insts: &mut Vec<Inst>) {
    let split = insts.len();
    insts.push(Inst::Split(Box::new([])));
    let (mut starts, mut jumps) = (Vec::new(), Vec::new());
    for branch in branches {
        let start = insts.len();
        emit(branch, options, insts);
        if insts.len() > start {
            starts.push(start);
            jumps.push(insts.len());
            insts.push(Inst::Jump(usize::MAX));
        }
    }
    if starts.is_empty() {
        insts.truncate(split);
        return;
    }
    let end = insts.len();
    for jump in jumps {
        insts[jump] = Inst::Jump(end);
    }
    insts[split] = Inst::Split(starts.into_boxed_slice());
}

/// The string comparison that decides `tokens`, if there is one.
fn shape(tokens: &[Token]) -> Shape {
    let literal = |tokens: &[Token]| -> Option<String> {
        tokens
            .iter()
            .map(|token| match token {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect()
    };
    let without_slash = |text: String| (!text.contains('/')).then_some(text);
    match tokens {
        [Token::RecursivePrefix] => Shape::General,
        [Token::RecursivePrefix, Token::ZeroOrMore, rest @ ..] => literal(rest)
            .and_then(without_slash)
            .map_or(Shape::General, Shape::EndsWith),
        [Token::RecursivePrefix, rest @ ..] if !rest.is_empty() => literal(rest)
            .and_then(without_slash)
            .map_or(Shape::General, Shape::Basename),
        [rest @ .., Token::RecursiveSuffix] => {
            literal(rest).map_or(Shape::General, |dir| Shape::StartsWith(format!("{dir}/")))
        }
        _ => literal(tokens).map_or(Shape::General, Shape::Exact),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two runs of the automaton (bit masks for ASCII, state sets for
    /// the rest) agree; the differential tests against globset reach the
    /// mask run on ASCII paths, this holds the other to it.
    #[test]
    fn the_mask_run_and_the_state_set_run_agree() {
        let globs = [
            "a*b",
            "**/a",
            "a/**",
            "a/**/b",
            "{a,b*}/c",
            "[!a]?",
            "*.{rs,toml}",
            "[a-c]**x",
            "src/**/*.rs",
            "?*?",
            "{}",
            "**",
        ];
        let paths = [
            "",
            "a",
            "ab",
            "a/b",
            "a/x/b",
            "b/c",
            "xa/c",
            "src/a/b.rs",
            "ca",
            "bx/x",
        ];
        let mut compared = 0;
        for text in globs {
            for literal_separator in [false, true] {
                for case_insensitive in [false, true] {
                    let options = Options {
                        literal_separator,
                        case_insensitive,
                        allow_unclosed_class: false,
                    };
                    let tokens = crate::parse::tokens(text, &options).unwrap();
                    let program = Program::new(&tokens, &options);
                    let masks = program.masks();
                    for path in paths {
                        assert_eq!(
                            Program::run_small(&masks, path.as_bytes()),
                            program.run(path),
                            "{text} {options:?} on {path}"
                        );
                        compared += usize::from(program.run(path));
                    }
                }
            }
        }
        assert!(compared > 50, "{compared} matches");
    }
}
