//! minimatch 3.1.2, as @actions/glob 0.4.0 uses it inside the runner's hashFiles bundle.
//!
//! The options are always `dot`, `nobrace`, `nocomment`, `noext`, `nonegate` (Linux: no
//! `nocase`), so braces, extglobs, comments and negation never reach here, and the code paths
//! minimatch keeps for them are left out. What stays is ported line for line, quirks included,
//! because they change which files a pattern matches:
//!
//! * A pattern is trimmed (JavaScript `trim`) and split on runs of `/`. A part that is exactly
//!   `**` is a globstar; a part without magic is compared as text after removing backslashes;
//!   anything else becomes a regexp source, built character by character (UTF-16 code units).
//! * Escapes: `\` before one of `().*{}+?[]^$\!` keeps that character literal; before anything
//!   else the backslash is dropped and the character read as usual (so `\-` inside a class is a
//!   range dash again). `\@` leaves the escape pending for the next character.
//! * Classes: `[` opens one; the `]` that closes it is only accepted when V8 compiles `[` + the
//!   text in between + `]` as written. Otherwise, and for a `[` never closed, the `[` is literal
//!   and the rest is parsed again as a sub-pattern, whose regexp is spliced in with its own
//!   lookaheads (so `b[*` needs at least one character after `b[`). A sub-pattern that is empty
//!   or `**` yields the text `undefined`, as JavaScript's `''[0]` and `GLOBSTAR[0]` do. There are
//!   no POSIX classes: `[[:alpha:]]` is the class `[\[:alph]` followed by `]`. `[!…]` negates.
//!   The regexp then sees the class text as minimatch rewrote it, which may not compile (`[c\-a]`):
//!   such a part matches nothing.
//! * Matching (`matchOne`): parts against path parts in order; a globstar tries to swallow zero
//!   or more parts (never `.` or `..`), and when it ends the pattern it takes all the rest,
//!   at least one part. `partial` (used to prune the walk) accepts running out of path first.

use super::js_regex::{self, CompileError, Program, NOT_DOT_PART, NOT_EMPTY};

/// One path part of a compiled pattern.
#[derive(Debug)]
pub(super) enum Part {
    /// `**`.
    Globstar,
    /// No magic: the part after `globUnescape`, compared as text.
    Literal(String),
    /// A regexp over UTF-16 code units.
    Regex(Program),
    /// A regexp that did not compile (minimatch's `$.`): matches nothing.
    Never,
}

impl Part {
    /// `f === p` or `f.match(p)` for one path part that is not faced with a globstar.
    fn matches(&self, name: &str) -> bool {
        match self {
            Part::Globstar => unreachable!("globstars are handled by match_one"),
            Part::Literal(text) => text == name,
            Part::Regex(program) => {
                let units: Vec<u16> = name.encode_utf16().collect();
                program.is_match(&units)
            }
            Part::Never => false,
        }
    }
}

/// A compiled pattern: minimatch's `set[0]` (there is only one without brace expansion).
#[derive(Debug)]
pub(super) struct Minimatch {
    parts: Vec<Part>,
}

impl Minimatch {
    /// `new Minimatch(pattern, options)`.
    pub(super) fn new(pattern: &str) -> Self {
        let pattern = super::js_trim(pattern);
        let parts = split_slashes(pattern)
            .map(|part| {
                let units: Vec<u16> = part.encode_utf16().collect();
                compile_part(&units)
            })
            .collect();
        Self { parts }
    }

    /// `matchOne(file, set[0], partial)`.
    pub(super) fn match_one(&self, file: &[&str], partial: bool) -> bool {
        match_one(file, &self.parts, partial)
    }
}

/// `s.split(/\/+/)`.
pub(super) fn split_slashes(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        if let Some(i) = r.find('/') {
            rest = Some(r[i..].trim_start_matches('/'));
            Some(&r[..i])
        } else {
            rest = None;
            Some(r)
        }
    })
}

/// minimatch's `matchOne`, with a globstar's recursion on the remaining parts.
fn match_one(file: &[&str], pattern: &[Part], partial: bool) -> bool {
    let mut fi = 0;
    let mut pi = 0;
    while fi < file.len() && pi < pattern.len() {
        let f = file[fi];
        let p = &pattern[pi];
        if let Part::Globstar = p {
            let is_dots = |s: &str| s == "." || s == "..";
            let pr = pi + 1;
            if pr == pattern.len() {
                // A trailing `**` swallows the rest, but never a `.` or `..` part (`dot` is on,
                // so other dotted names are fine).
                return !file[fi..].iter().any(|f| is_dots(f));
            }
            let mut fr = fi;
            while fr < file.len() {
                if match_one(&file[fr..], &pattern[pr..], partial) {
                    return true;
                }
                if is_dots(file[fr]) {
                    break;
                }
                fr += 1;
            }
            // In a walk, running out of path inside a globstar may still lead to a match.
            return partial && fr == file.len();
        }
        if !p.matches(f) {
            return false;
        }
        fi += 1;
        pi += 1;
    }
    if fi == file.len() && pi == pattern.len() {
        true
    } else if fi == file.len() {
        partial
    } else {
        // Out of pattern: only a trailing empty part (a path ending in `/`) may be left.
        fi == file.len() - 1 && file[fi].is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing one part (`Minimatch.prototype.parse`)

fn u(c: char) -> u16 {
    c as u16
}

/// `reSpecials`: `().*{}+?[]^$\!`.
fn is_special(c: u16) -> bool {
    u8::try_from(c).is_ok_and(|b| b"().*{}+?[]^$\\!".contains(&b))
}

const QMARK: &str = "[^/]";
const STAR: &str = "[^/]*?";

/// Compiles one path part (never containing `/`).
fn compile_part(pattern: &[u16]) -> Part {
    if pattern == [u('*'), u('*')] {
        return Part::Globstar;
    }
    if pattern.is_empty() {
        return Part::Literal(String::new());
    }
    let (re, magic) = parse(pattern);
    if !magic {
        return Part::Literal(String::from_utf16_lossy(&glob_unescape(pattern)));
    }
    match Program::compile(&re) {
        Ok(program) => Part::Regex(program),
        Err(CompileError::Syntax) => Part::Never,
        Err(CompileError::Unsupported) => {
            // A construct minimatch cannot emit: this port is wrong, not the pattern.
            debug_assert!(
                false,
                "unsupported regexp {}",
                String::from_utf16_lossy(&re)
            );
            Part::Never
        }
    }
}

/// `parse(pattern, SUBPARSE)`: the regexp source and whether it has magic. The shortcuts for
/// `**` and `""` return values whose `[0]` is `undefined` in JavaScript, which the caller then
/// concatenates as text.
fn sub_parse(pattern: &[u16]) -> (Vec<u16>, bool) {
    if pattern.is_empty() || pattern == [u('*'), u('*')] {
        return ("undefined".encode_utf16().collect(), false);
    }
    parse(pattern)
}

/// The body of `parse` (after its shortcuts): regexp source and `hasMagic`.
fn parse(pattern: &[u16]) -> (Vec<u16>, bool) {
    struct State {
        re: Vec<u16>,
        has_magic: bool,
        pending: Option<u16>,
    }
    impl State {
        fn push(&mut self, s: &str) {
            self.re.extend(s.encode_utf16());
        }
        /// `clearStateChar`.
        fn clear_pending(&mut self) {
            if let Some(c) = self.pending.take() {
                if c == u('*') {
                    self.push(STAR);
                    self.has_magic = true;
                } else if c == u('?') {
                    self.push(QMARK);
                    self.has_magic = true;
                } else {
                    self.re.push(u('\\'));
                    self.re.push(c);
                }
            }
        }
    }

    let mut st = State {
        re: Vec::new(),
        has_magic: false,
        pending: None,
    };
    let mut escaping = false;
    let mut in_class = false;
    let mut re_class_start = 0;
    // -1 in minimatch: "no class yet", which still makes a `]` at index 0 literal.
    let mut class_start: Option<usize> = None;
    let after_class_start = |class_start: Option<usize>, i: usize| match class_start {
        Some(c) => i == c + 1,
        None => i == 0,
    };

    let mut i = 0;
    while i < pattern.len() {
        let c = pattern[i];
        let index = i;
        i += 1;
        if escaping && is_special(c) {
            st.re.push(u('\\'));
            st.re.push(c);
            escaping = false;
            continue;
        }
        match char::from_u32(u32::from(c)).unwrap_or('\u{FFFD}') {
            '/' => {
                // Cannot happen: parts come from splitting on `/`.
                return (Vec::new(), false);
            }
            '\\' => {
                st.clear_pending();
                escaping = true;
            }
            '?' | '*' | '+' | '@' | '!' => {
                if in_class {
                    let c = if c == u('!') && after_class_start(class_start, index) {
                        u('^')
                    } else {
                        c
                    };
                    st.re.push(c);
                    continue;
                }
                st.clear_pending();
                st.pending = Some(c);
                // `noext`: no extglob can start here, so the state char is settled at once.
                st.clear_pending();
            }
            '(' => {
                // Without extglobs there is never a pending state char here.
                if in_class {
                    st.re.push(c);
                } else {
                    st.push("\\(");
                }
            }
            ')' => st.push("\\)"),
            '|' => {
                st.push("\\|");
                escaping = false;
            }
            '[' => {
                st.clear_pending();
                if in_class {
                    st.push("\\[");
                    continue;
                }
                in_class = true;
                class_start = Some(index);
                re_class_start = st.re.len();
                st.re.push(c);
            }
            ']' => {
                if after_class_start(class_start, index) || !in_class {
                    st.push("\\]");
                    escaping = false;
                    continue;
                }
                let start = class_start.expect("in a class") + 1;
                let cs = &pattern[start..index];
                let mut probe = vec![u('[')];
                probe.extend_from_slice(cs);
                probe.push(u(']'));
                if !js_regex::is_valid(&probe) {
                    // Not a valid class: the `[` is literal, and the rest parses again.
                    let (sp, sp_magic) = sub_parse(cs);
                    st.re.truncate(re_class_start);
                    st.push("\\[");
                    st.re.extend(sp);
                    st.push("\\]");
                    st.has_magic = st.has_magic || sp_magic;
                    in_class = false;
                    continue;
                }
                st.has_magic = true;
                in_class = false;
                st.re.push(c);
            }
            _ => {
                st.clear_pending();
                if escaping {
                    escaping = false;
                } else if is_special(c) && !(c == u('^') && in_class) {
                    st.re.push(u('\\'));
                }
                st.re.push(c);
            }
        }
    }

    if in_class {
        // A class left open: the `[` is literal, and the rest parses again.
        let start = class_start.expect("in a class") + 1;
        let (sp, sp_magic) = sub_parse(&pattern[start..]);
        st.re.truncate(re_class_start);
        st.push("\\[");
        st.re.extend(sp);
        st.has_magic = st.has_magic || sp_magic;
    }
    st.clear_pending();
    if escaping {
        st.push("\\\\");
    }
    let add_pattern_start =
        matches!(st.re.first(), Some(&c) if c == u('[') || c == u('.') || c == u('('));
    let mut re = Vec::new();
    if add_pattern_start && pattern[0] != u('.') {
        re.extend(NOT_DOT_PART.encode_utf16());
    }
    if !st.re.is_empty() && st.has_magic {
        re.extend(NOT_EMPTY.encode_utf16());
    }
    re.extend(st.re);
    (re, st.has_magic)
}

/// `globUnescape`: `s.replace(/\\(.)/g, '$1')` (`.` is any unit but a line terminator).
fn glob_unescape(s: &[u16]) -> Vec<u16> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == u('\\') {
            if let Some(&next) = s.get(i + 1) {
                if !matches!(next, 0x0A | 0x0D | 0x2028 | 0x2029) {
                    out.push(next);
                    i += 2;
                    continue;
                }
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part_matches(pattern: &str, name: &str) -> bool {
        let units: Vec<u16> = pattern.encode_utf16().collect();
        match compile_part(&units) {
            Part::Globstar => true,
            p => p.matches(name),
        }
    }

    fn re_of(pattern: &str) -> String {
        let units: Vec<u16> = pattern.encode_utf16().collect();
        String::from_utf16_lossy(&parse(&units).0)
    }

    #[test]
    fn regexp_sources_are_minimatch_3s() {
        // Sources as `new Minimatch(p, opts).set[0][0]._src` prints them in minimatch 3.1.2.
        assert_eq!(
            re_of("*.js"),
            format!("{NOT_DOT_PART}{NOT_EMPTY}[^/]*?\\.js")
        );
        assert_eq!(re_of("a?"), format!("{NOT_EMPTY}a[^/]"));
        assert_eq!(re_of("[a-c]"), format!("{NOT_DOT_PART}{NOT_EMPTY}[a-c]"));
        assert_eq!(re_of("[!a]"), format!("{NOT_DOT_PART}{NOT_EMPTY}[^a]"));
        assert_eq!(re_of("[a\\-c]"), format!("{NOT_DOT_PART}{NOT_EMPTY}[a-c]"));
        assert_eq!(
            re_of("b[*"),
            format!("{NOT_EMPTY}b\\[{NOT_DOT_PART}{NOT_EMPTY}[^/]*?")
        );
        assert_eq!(
            re_of("*["),
            format!("{NOT_DOT_PART}{NOT_EMPTY}[^/]*?\\[undefined")
        );
        assert_eq!(re_of("[z-a]"), "\\[z-a\\]");
        assert_eq!(re_of("\\@*"), "\\@\\*");
    }

    #[test]
    fn parts_match_like_minimatch_3() {
        assert!(part_matches("*", ".hidden"));
        assert!(part_matches("*.js", ".js"));
        assert!(part_matches("*.js", "a.js"));
        assert!(part_matches("?.txt", "a.txt"));
        assert!(!part_matches("?.txt", "ab.txt"));
        assert!(part_matches("[ab]x", "bx"));
        assert!(!part_matches("[!ab]x", "bx"));
        assert!(part_matches("[^ab]x", "cx"));
        assert!(part_matches("[a-c]", "b"));
        assert!(part_matches("[a-]", "-"));
        assert!(part_matches("[]]", "]"));
        assert!(part_matches("a\\*b", "a*b"));
        assert!(!part_matches("a\\*b", "axb"));
        assert!(part_matches("[x", "[x"), "an unclosed class is literal");
        assert!(part_matches("a[*]b", "a*b"));
        assert!(
            part_matches("*a\\b", "xab"),
            "`\\b` is `b`: no literal `*ext` fast path"
        );
        assert!(!part_matches("*a\\b", "xa\\b"));
        assert!(
            part_matches("*\\.js", "a.js"),
            "no literal `*ext` fast path"
        );
        assert!(!part_matches("*.js", "a.jsx"));
        assert!(part_matches("[a\\-c]", "b"), "`\\-` is a range dash again");
        assert!(!part_matches("[a\\-c]", "-"));
        assert!(part_matches("[[:alpha:]]", "a]"), "no POSIX classes");
        assert!(!part_matches("[[:alpha:]]", "a"));
        assert!(
            part_matches("[z-a]", "[z-a]"),
            "an invalid class is literal text"
        );
        assert!(part_matches("b[*", "b[x"));
        assert!(
            !part_matches("b[*", "b["),
            "the sub-pattern's (?=.) needs a character"
        );
        assert!(part_matches("*[", "x[undefined"));
        assert!(!part_matches("*[", "x["));
        assert!(part_matches("[", "["));
        assert!(part_matches("[!a]", "b"));
        assert!(part_matches("[^a]", "b"));
        assert!(
            !part_matches("[😀]", "😀"),
            "a class matches one UTF-16 unit"
        );
        assert!(part_matches("??", "😀"));
        assert!(
            !part_matches("[c\\-a]", "b"),
            "the rewritten class does not compile"
        );
        assert!(!part_matches("[c\\-a]", "[c-a]"));
        assert!(
            part_matches("a\\", "a\\"),
            "a trailing backslash is literal"
        );
        assert!(part_matches("{a,b}", "{a,b}"));
        assert!(part_matches("+(a)", "+(a)"));
        assert!(
            part_matches("\\@*", "@*"),
            "`\\@` leaves the escape for the `*`"
        );
    }

    fn mm_match(pattern: &str, path: &str, partial: bool) -> bool {
        let file: Vec<&str> = split_slashes(path).collect();
        Minimatch::new(pattern).match_one(&file, partial)
    }

    #[test]
    fn match_one_follows_minimatch_3() {
        assert!(mm_match("/a/**", "/a/", false));
        assert!(!mm_match("/a/**", "/a", false));
        assert!(mm_match("/a/**", "/a/b/c", false));
        assert!(mm_match("/a/**/b", "/a/b", false));
        assert!(mm_match("/a/**/b", "/a/x/y/b", false));
        assert!(!mm_match("/a/*/b", "/a/b", false));
        assert!(mm_match("/**/b/**/c", "/b/c", false));
        assert!(
            mm_match("/a/*", "/a/b/", false),
            "a trailing empty part is fine"
        );
        assert!(mm_match("/a/*/c", "/a", true));
        assert!(!mm_match("/a/*/c", "/a/b/d", true));
        assert!(mm_match("/a/**/c", "/a/b/d", true));
        assert!(mm_match("/a ", "/a", false), "the pattern is trimmed");
        assert_eq!(
            split_slashes("/a//b/").collect::<Vec<_>>(),
            ["", "a", "b", ""]
        );
    }
}
