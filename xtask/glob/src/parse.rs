//! Glob text to tokens, in the globset crate's grammar: `?`, `*`, `**` as a
//! whole component (`**/`, `/**`, `/**/`, or the glob `**`), classes
//! (`[a-z]`, `[!a]`, `[^a]`, `]` or `-` first taken literally), alternates
//! (`{a,b}`, nested allowed, empty branches dropped) and `\` escapes. A `**`
//! that is not a whole component is two `*`.

use crate::{ErrorKind, Options};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Literal(char),
    Any,
    ZeroOrMore,
    /// `**/` at the start: nothing, or anything ending with `/`.
    RecursivePrefix,
    /// `/**` at the end: `/` then anything.
    RecursiveSuffix,
    /// `/**/` inside: `/`, or `/` anything `/`.
    RecursiveZeroOrMore,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Alternates(Vec<Vec<Token>>),
}

/// Parses `glob` with `options` (`allow_unclosed_class` decides what a `[`
/// without `]` is).
pub(crate) fn tokens(glob: &str, options: &Options) -> Result<Vec<Token>, ErrorKind> {
    let mut parser = Parser {
        chars: glob.chars().collect(),
        at: 0,
        prev: None,
        cur: None,
        alternates_stack: Vec::new(),
        branches: vec![Vec::new()],
        found_unclosed_class: false,
        allow_unclosed_class: options.allow_unclosed_class,
    };
    parser.parse()?;
    if parser.branches.len() > 1 {
        return Err(ErrorKind::UnclosedAlternates);
    }
    Ok(parser.branches.pop().unwrap_or_default())
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    prev: Option<char>,
    cur: Option<char>,
    /// Where in `branches` each open `{` started.
    alternates_stack: Vec<usize>,
    /// The branches being parsed; tokens go to the last.
    branches: Vec<Vec<Token>>,
    /// A `[` never closed: later ones cannot close either, so they are
    /// literal without looking (no quadratic rescans of `[[[[…`).
    found_unclosed_class: bool,
    allow_unclosed_class: bool,
}

/// How deep `{…}` groups may nest: compiling them recurses, so a glob of
/// thousands of `{` would otherwise overflow the stack (globset's regex
/// parser has a limit of its own, 250).
const MAX_NESTING: usize = 64;

fn is_separator(c: char) -> bool {
    c == '/'
}

impl Parser {
    fn parse(&mut self) -> Result<(), ErrorKind> {
        while let Some(c) = self.bump() {
            match c {
                '?' => self.push(Token::Any),
                '*' => self.parse_star()?,
                '[' if !self.found_unclosed_class => self.parse_class()?,
                '{' => {
                    if self.alternates_stack.len() >= MAX_NESTING {
                        return Err(ErrorKind::NestedTooDeep);
                    }
                    self.alternates_stack.push(self.branches.len());
                    self.branches.push(Vec::new());
                }
                '}' => {
                    let start = self
                        .alternates_stack
                        .pop()
                        .ok_or(ErrorKind::UnopenedAlternates)?;
                    let alternates = self.branches.drain(start..).collect();
                    self.push(Token::Alternates(alternates));
                }
                ',' if !self.alternates_stack.is_empty() => self.branches.push(Vec::new()),
                '\\' => match self.bump() {
                    Some(c) => self.push(Token::Literal(c)),
                    None => return Err(ErrorKind::DanglingEscape),
                },
                c => self.push(Token::Literal(c)),
            }
        }
        Ok(())
    }

    fn branch(&mut self) -> &mut Vec<Token> {
        // `branches` always holds the top level: a `}` drains only what its
        // own `{` pushed.
        self.branches.last_mut().expect("the top-level branch")
    }

    fn push(&mut self, token: Token) {
        self.branch().push(token);
    }

    fn push_two_stars(&mut self) {
        self.push(Token::ZeroOrMore);
        self.push(Token::ZeroOrMore);
    }

    /// After a `*`: a lone `*`, or `**`, which is recursive only as a whole
    /// path component.
    fn parse_star(&mut self) -> Result<(), ErrorKind> {
        let prev = self.prev;
        if self.peek() != Some('*') {
            self.push(Token::ZeroOrMore);
            return Ok(());
        }
        self.bump();
        if self.branch().is_empty() {
            if self.peek().is_some_and(|c| !is_separator(c)) {
                self.push_two_stars();
            } else {
                self.push(Token::RecursivePrefix);
                self.bump();
            }
            return Ok(());
        }
        if !prev.is_some_and(is_separator)
            && (self.branches.len() <= 1 || (prev != Some(',') && prev != Some('{')))
        {
            self.push_two_stars();
            return Ok(());
        }
        let is_suffix = match self.peek() {
            None => true,
            Some(',' | '}') if self.branches.len() >= 2 => true,
            Some(c) if is_separator(c) => {
                self.bump();
                false
            }
            _ => {
                self.push_two_stars();
                return Ok(());
            }
        };
        let replaced = match self.branch().pop() {
            Some(Token::RecursivePrefix) => Token::RecursivePrefix,
            Some(Token::RecursiveSuffix) => Token::RecursiveSuffix,
            _ if is_suffix => Token::RecursiveSuffix,
            _ => Token::RecursiveZeroOrMore,
        };
        self.push(replaced);
        Ok(())
    }

    fn parse_class(&mut self) -> Result<(), ErrorKind> {
        let saved = (self.at, self.prev, self.cur);
        let negated = matches!(self.peek(), Some('!' | '^'));
        if negated {
            self.bump();
        }
        let mut ranges: Vec<(char, char)> = Vec::new();
        let (mut first, mut in_range) = (true, false);
        loop {
            let Some(c) = self.bump() else {
                if !self.allow_unclosed_class {
                    return Err(ErrorKind::UnclosedClass);
                }
                (self.at, self.prev, self.cur) = saved;
                self.found_unclosed_class = true;
                self.push(Token::Literal('['));
                return Ok(());
            };
            match c {
                ']' if !first => break,
                '-' if !first && !in_range => in_range = true,
                c => {
                    if in_range {
                        let last = ranges.last_mut().expect("a range starts after a character");
                        last.1 = c;
                        if last.1 < last.0 {
                            return Err(ErrorKind::InvalidRange(last.0, last.1));
                        }
                        in_range = false;
                    } else {
                        ranges.push((c, c));
                    }
                }
            }
            first = false;
        }
        if in_range {
            ranges.push(('-', '-'));
        }
        self.push(Token::Class { negated, ranges });
        Ok(())
    }

    fn bump(&mut self) -> Option<char> {
        self.prev = self.cur;
        self.cur = self.chars.get(self.at).copied();
        if self.cur.is_some() {
            self.at += 1;
        }
        self.cur
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }
}
