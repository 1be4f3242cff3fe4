//! The part of JavaScript regular expressions that minimatch 3 relies on, over UTF-16 code units.
//!
//! minimatch 3 turns a glob segment into the *source text* of a JavaScript `RegExp` without
//! flags, and leans on V8 twice: it asks whether `[` + class text + `]` compiles (that decides
//! whether a `[` opens a class or is a literal), and it matches names with the regexp it built,
//! falling back to a regexp that matches nothing when that does not compile. Without the `u` flag
//! JavaScript sees a string as UTF-16 code units: `?` or `[😀]` stands for one *unit*, half of an
//! emoji. This module repeats both uses:
//!
//! * [`is_valid`]: V8's syntax check for a regexp without flags (the web-legacy grammar of
//!   ECMAScript Annex B, as Node 20 implements it). minimatch hands it class text from the
//!   pattern as written, escapes and all, so this checks the whole grammar, not only classes.
//! * [`Program`]: compiles the source minimatch emits (literals, escapes, classes, `[^/]*?`,
//!   and its two fixed lookaheads) and matches it against a name's code units, with
//!   JavaScript's meaning of each piece (`.` in `(?=.)` excludes line terminators, `$` is the
//!   end of input, a negated class matches any unit outside it, surrogates included).
//!
//! Nothing here allocates per unit matched or recurses on input: both run on patterns that a
//! workflow (or a hostile pull request) wrote.

/// `\n`, `\r`, U+2028, U+2029: what JavaScript's `.` does not match.
fn is_line_terminator(u: u16) -> bool {
    matches!(u, 0x0A | 0x0D | 0x2028 | 0x2029)
}

fn unit(c: char) -> u16 {
    debug_assert!(c.is_ascii(), "only ASCII syntax characters are compared");
    c as u16
}

fn is_ascii_digit(u: u16) -> bool {
    (u16::from(b'0')..=u16::from(b'9')).contains(&u)
}

fn is_ascii_letter(u: u16) -> bool {
    (u16::from(b'a')..=u16::from(b'z')).contains(&u)
        || (u16::from(b'A')..=u16::from(b'Z')).contains(&u)
}

fn hex_value(u: u16) -> Option<u32> {
    char::from_u32(u32::from(u)).and_then(|c| c.to_digit(16))
}

/// `\d`, `\D`, `\s`, `\S`, `\w`, `\W`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClassEscape {
    Digit,
    NotDigit,
    Space,
    NotSpace,
    Word,
    NotWord,
}

impl ClassEscape {
    fn from_letter(u: u16) -> Option<Self> {
        Some(match u8::try_from(u).ok()? {
            b'd' => Self::Digit,
            b'D' => Self::NotDigit,
            b's' => Self::Space,
            b'S' => Self::NotSpace,
            b'w' => Self::Word,
            b'W' => Self::NotWord,
            _ => return None,
        })
    }

    fn matches(self, u: u16) -> bool {
        let word = is_ascii_letter(u) || is_ascii_digit(u) || u == unit('_');
        // JavaScript's WhiteSpace and LineTerminator.
        let space = matches!(
            u,
            0x09..=0x0D | 0x20 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F
                | 0x3000 | 0xFEFF
        );
        match self {
            Self::Digit => is_ascii_digit(u),
            Self::NotDigit => !is_ascii_digit(u),
            Self::Space => space,
            Self::NotSpace => !space,
            Self::Word => word,
            Self::NotWord => !word,
        }
    }
}

/// One item of a character class.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ClassItem {
    Range(u16, u16),
    Escape(ClassEscape),
}

/// A bracket expression: the units it lists, or (negated) every other unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Class {
    negated: bool,
    items: Vec<ClassItem>,
}

impl Class {
    fn matches(&self, u: u16) -> bool {
        let listed = self.items.iter().any(|item| match *item {
            ClassItem::Range(lo, hi) => (lo..=hi).contains(&u),
            ClassItem::Escape(e) => e.matches(u),
        });
        listed != self.negated
    }
}

/// What one class atom stands for.
enum ClassAtom {
    Unit(u16),
    Escape(ClassEscape),
}

/// V8's `ParseOctalLiteral`: up to three octal digits while the value stays below 256.
fn octal(s: &[u16], pos: &mut usize) -> u16 {
    let digit = |u: Option<&u16>| u.copied().filter(|&u| (unit('0')..=unit('7')).contains(&u));
    let mut value = s[*pos] - unit('0');
    *pos += 1;
    if value < 4 {
        if let Some(d) = digit(s.get(*pos)) {
            value = value * 8 + (d - unit('0'));
            *pos += 1;
            if value < 32 {
                if let Some(d) = digit(s.get(*pos)) {
                    value = value * 8 + (d - unit('0'));
                    *pos += 1;
                }
            }
        }
    }
    value
}

/// `\x` + two hex digits or `\u` + four, at `pos` (just after the letter); `None` if the digits
/// are not all there, in which case the letter is an identity escape.
fn hex_escape(s: &[u16], pos: usize, digits: usize) -> Option<u16> {
    let text = s.get(pos..pos + digits)?;
    let mut value: u32 = 0;
    for &u in text {
        value = value * 16 + hex_value(u)?;
    }
    u16::try_from(value).ok()
}

/// One class atom at `pos` (Annex B `ClassAtom`), advancing past it.
fn class_atom(s: &[u16], pos: &mut usize) -> Result<ClassAtom, ()> {
    let c = *s.get(*pos).ok_or(())?;
    *pos += 1;
    if c != unit('\\') {
        return Ok(ClassAtom::Unit(c));
    }
    // A `\` ending the source leaves the class unterminated.
    let e = *s.get(*pos).ok_or(())?;
    if let Some(esc) = ClassEscape::from_letter(e) {
        *pos += 1;
        return Ok(ClassAtom::Escape(esc));
    }
    let value = match u8::try_from(e).unwrap_or(0) {
        b'b' => 0x08,
        b'f' => 0x0C,
        b'n' => 0x0A,
        b'r' => 0x0D,
        b't' => 0x09,
        b'v' => 0x0B,
        b'c' => {
            // Inside a class, Annex B also takes digits and `_` as control letters.
            match s.get(*pos + 1) {
                Some(&l) if is_ascii_letter(l) || is_ascii_digit(l) || l == unit('_') => {
                    *pos += 2;
                    return Ok(ClassAtom::Unit(l % 32));
                }
                // `\c` before anything else is a backslash; the `c` is read next.
                _ => return Ok(ClassAtom::Unit(unit('\\'))),
            }
        }
        b'x' | b'u' => {
            let digits = if e == unit('x') { 2 } else { 4 };
            match hex_escape(s, *pos + 1, digits) {
                Some(v) => {
                    *pos += 1 + digits;
                    return Ok(ClassAtom::Unit(v));
                }
                None => e,
            }
        }
        b'0'..=b'7' => return Ok(ClassAtom::Unit(octal(s, pos))),
        // Everything else, `\8`, `\9`, `\-`, `\k` and non-ASCII included, is the unit itself.
        _ => e,
    };
    *pos += 1;
    Ok(ClassAtom::Unit(value))
}

/// A class body from just after its `[`; returns the class and the position after its `]`.
/// `Err` for a syntax error: no closing `]`, or a range whose ends are out of order.
fn parse_class(s: &[u16], mut pos: usize) -> Result<(Class, usize), ()> {
    let negated = s.get(pos) == Some(&unit('^'));
    if negated {
        pos += 1;
    }
    let mut items = Vec::new();
    let single = |a: ClassAtom| match a {
        ClassAtom::Unit(u) => ClassItem::Range(u, u),
        ClassAtom::Escape(e) => ClassItem::Escape(e),
    };
    loop {
        match s.get(pos) {
            None => return Err(()),
            Some(&u) if u == unit(']') => return Ok((Class { negated, items }, pos + 1)),
            Some(_) => {}
        }
        let first = class_atom(s, &mut pos)?;
        let dash = s.get(pos) == Some(&unit('-'));
        let more = s.get(pos + 1).is_some_and(|&u| u != unit(']'));
        if !(dash && more) {
            items.push(single(first));
            continue;
        }
        pos += 1;
        let last = class_atom(s, &mut pos)?;
        match (first, last) {
            (ClassAtom::Unit(lo), ClassAtom::Unit(hi)) => {
                if lo > hi {
                    return Err(());
                }
                items.push(ClassItem::Range(lo, hi));
            }
            // Annex B: a range with a class escape at either end is the union of the two
            // ends and a literal `-`.
            (first, last) => {
                items.push(single(first));
                items.push(ClassItem::Range(unit('-'), unit('-')));
                items.push(single(last));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax check

/// Whether `new RegExp(src)` compiles in Node 20 (V8, no flags).
pub(super) fn is_valid(src: &[u16]) -> bool {
    Validator::new(src).run().is_ok()
}

/// Why a term may or may not take a quantifier after it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Start of an alternative or of a group: nothing to repeat.
    Nothing,
    /// An atom, a group or a lookahead: may be quantified.
    Atom,
    /// An assertion, a lookbehind or a quantifier: may not.
    Fixed,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Plain,
    Lookbehind,
}

struct Validator<'a> {
    s: &'a [u16],
    pos: usize,
    /// Whether any `(?<name>` occurs: then `\k` must be a valid named reference.
    has_named: bool,
    names: Vec<Vec<u16>>,
    references: Vec<Vec<u16>>,
}

impl<'a> Validator<'a> {
    fn new(s: &'a [u16]) -> Self {
        Self {
            s,
            pos: 0,
            has_named: has_named_groups(s),
            names: Vec::new(),
            references: Vec::new(),
        }
    }

    fn at(&self, offset: usize) -> Option<u16> {
        self.s.get(self.pos + offset).copied()
    }

    fn is(&self, offset: usize, c: char) -> bool {
        self.at(offset) == Some(unit(c))
    }

    /// The term grammar with an explicit group stack, so deep nesting cannot overflow ours.
    fn run(mut self) -> Result<(), ()> {
        let mut groups: Vec<Group> = Vec::new();
        let mut last = Last::Nothing;
        while let Some(c) = self.at(0) {
            last = match u8::try_from(c).unwrap_or(0) {
                b'|' => {
                    self.pos += 1;
                    Last::Nothing
                }
                b')' => {
                    let group = groups.pop().ok_or(())?;
                    self.pos += 1;
                    if group == Group::Lookbehind {
                        Last::Fixed
                    } else {
                        Last::Atom
                    }
                }
                b'(' => {
                    groups.push(self.group_open()?);
                    Last::Nothing
                }
                b'^' | b'$' => {
                    self.pos += 1;
                    Last::Fixed
                }
                b'\\' => self.atom_escape()?,
                b'[' => {
                    let (_, end) = parse_class(self.s, self.pos + 1)?;
                    self.pos = end;
                    Last::Atom
                }
                b'*' | b'+' | b'?' => {
                    if last != Last::Atom {
                        return Err(());
                    }
                    self.pos += 1;
                    self.lazy();
                    Last::Fixed
                }
                b'{' => {
                    if let Some((min, max, end)) = self.braced_quantifier() {
                        if last != Last::Atom || max.is_some_and(|max| min > max) {
                            return Err(());
                        }
                        self.pos = end;
                        self.lazy();
                        Last::Fixed
                    } else {
                        // Not a quantifier: Annex B reads `{` as itself.
                        self.pos += 1;
                        Last::Atom
                    }
                }
                _ => {
                    self.pos += 1;
                    Last::Atom
                }
            };
        }
        if !groups.is_empty() {
            return Err(());
        }
        if self.references.iter().any(|r| !self.names.contains(r)) {
            return Err(());
        }
        Ok(())
    }

    fn lazy(&mut self) {
        if self.is(0, '?') {
            self.pos += 1;
        }
    }

    /// `(`, `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!` or `(?<name>`.
    fn group_open(&mut self) -> Result<Group, ()> {
        if !self.is(1, '?') {
            self.pos += 1;
            return Ok(Group::Plain);
        }
        if self.is(2, ':') || self.is(2, '=') || self.is(2, '!') {
            self.pos += 3;
            return Ok(Group::Plain);
        }
        if !self.is(2, '<') {
            return Err(());
        }
        if self.is(3, '=') || self.is(3, '!') {
            self.pos += 4;
            return Ok(Group::Lookbehind);
        }
        self.pos += 3;
        let name = self.group_name()?;
        if self.names.contains(&name) {
            return Err(());
        }
        self.names.push(name);
        Ok(Group::Plain)
    }

    /// An escape outside a class.
    fn atom_escape(&mut self) -> Result<Last, ()> {
        let e = self.at(1).ok_or(())?;
        if e == unit('b') || e == unit('B') {
            self.pos += 2;
            return Ok(Last::Fixed);
        }
        if e == unit('k') && self.has_named {
            if !self.is(2, '<') {
                return Err(());
            }
            self.pos += 3;
            let name = self.group_name()?;
            self.references.push(name);
            return Ok(Last::Atom);
        }
        if e == unit('c') {
            // `\c` + letter is a control character; otherwise the `\` stands alone.
            self.pos += if self.at(2).is_some_and(is_ascii_letter) {
                3
            } else {
                1
            };
            return Ok(Last::Atom);
        }
        // Everything else (identity, class, hex, octal escapes, back references) is one atom
        // whose remaining digits, if any, read as plain characters: no error either way.
        self.pos += 2;
        Ok(Last::Atom)
    }

    /// `{n}`, `{n,}` or `{n,m}` at `pos`: (min, max, end), numbers clamped as V8 does.
    fn braced_quantifier(&self) -> Option<(u32, Option<u32>, usize)> {
        const INFINITY: u32 = i32::MAX as u32;
        let s = self.s;
        let mut pos = self.pos + 1;
        let number = |pos: &mut usize| -> Option<u32> {
            let start = *pos;
            let mut value: u32 = 0;
            while let Some(&u) = s.get(*pos).filter(|&&u| is_ascii_digit(u)) {
                let d = u32::from(u - unit('0'));
                value = if value > (INFINITY - d) / 10 {
                    INFINITY
                } else {
                    value * 10 + d
                };
                *pos += 1;
            }
            (*pos > start).then_some(value)
        };
        let min = number(&mut pos)?;
        let max = if s.get(pos) == Some(&unit(',')) {
            pos += 1;
            if s.get(pos) == Some(&unit('}')) {
                None
            } else {
                Some(number(&mut pos)?)
            }
        } else {
            Some(min)
        };
        (s.get(pos) == Some(&unit('}'))).then_some((min, max, pos + 1))
    }

    /// A group name and its closing `>`, from `pos`. Names read code points (surrogate pairs
    /// joined, `\uXXXX` and `\u{…}` escapes decoded) even without the `u` flag.
    fn group_name(&mut self) -> Result<Vec<u16>, ()> {
        let mut name = Vec::new();
        loop {
            let c = self.code_point()?;
            if c == '>' && !name.is_empty() {
                return Ok(name);
            }
            let ok = if name.is_empty() {
                is_id_start(c)
            } else {
                is_id_continue(c)
            };
            if !ok {
                return Err(());
            }
            let mut buf = [0; 2];
            name.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }

    fn code_point(&mut self) -> Result<char, ()> {
        let u = self.at(0).ok_or(())?;
        if u == unit('\\') {
            if !self.is(1, 'u') {
                return Err(());
            }
            self.pos += 2;
            return self.unicode_escape();
        }
        self.pos += 1;
        if (0xD800..0xDC00).contains(&u) {
            if let Some(low) = self.at(0).filter(|l| (0xDC00..0xE000).contains(l)) {
                self.pos += 1;
                let c = 0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                return char::from_u32(c).ok_or(());
            }
        }
        char::from_u32(u32::from(u)).ok_or(())
    }

    /// After `\u` in a group name: `XXXX` (a surrogate pair of escapes joins) or `{X…}`.
    fn unicode_escape(&mut self) -> Result<char, ()> {
        if self.is(0, '{') {
            let mut value: u32 = 0;
            let mut digits = 0;
            self.pos += 1;
            while let Some(d) = self.at(0).and_then(hex_value) {
                value = value.saturating_mul(16).saturating_add(d);
                digits += 1;
                self.pos += 1;
            }
            if digits == 0 || !self.is(0, '}') {
                return Err(());
            }
            self.pos += 1;
            return char::from_u32(value).ok_or(());
        }
        let high = hex_escape(self.s, self.pos, 4).ok_or(())?;
        self.pos += 4;
        if (0xD800..0xDC00).contains(&high) && self.is(0, '\\') && self.is(1, 'u') {
            if let Some(low) = hex_escape(self.s, self.pos + 2, 4) {
                if (0xDC00..0xE000).contains(&low) {
                    self.pos += 6;
                    let c =
                        0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    return char::from_u32(c).ok_or(());
                }
            }
        }
        char::from_u32(u32::from(high)).ok_or(())
    }
}

// JavaScript's ID_Start and ID_Continue, approximated by Rust's Alphabetic and Alphanumeric
// properties (the same letters; they differ on a few combining marks), plus `$`, `_`, ZWNJ, ZWJ.
fn is_id_start(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphabetic()
}

fn is_id_continue(c: char) -> bool {
    is_id_start(c) || c.is_alphanumeric() || c == '\u{200C}' || c == '\u{200D}'
}

/// V8's pre-scan: whether a `(?<name>` group occurs outside classes and escapes.
fn has_named_groups(s: &[u16]) -> bool {
    let mut i = 0;
    let mut in_class = false;
    while i < s.len() {
        let c = s[i];
        if c == unit('\\') {
            i += 2;
            continue;
        }
        if in_class {
            in_class = c != unit(']');
        } else if c == unit('[') {
            in_class = true;
        } else if c == unit('(')
            && s.get(i + 1) == Some(&unit('?'))
            && s.get(i + 2) == Some(&unit('<'))
            && !matches!(s.get(i + 3), Some(&u) if u == unit('=') || u == unit('!'))
        {
            return true;
        }
        i += 1;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Compiling and matching what minimatch emits

/// One step of a compiled segment regexp.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// One code unit, exactly.
    Unit(u16),
    /// One code unit in the class.
    Class(Class),
    /// Any number of code units in the class (minimatch's `[^/]*?`; laziness does not change
    /// whether an anchored regexp matches).
    Repeat(Class),
    /// `(?=.)`: a unit follows, and it is not a line terminator.
    NotEnd,
    /// `(?!(?:^|\/)\.{1,2}(?:$|\/))`: not at a `.` or `..` path part.
    NotDotPart,
}

/// The lookahead minimatch puts before a part that could match `.` or `..`.
pub(super) const NOT_DOT_PART: &str = r"(?!(?:^|\/)\.{1,2}(?:$|\/))";
/// The lookahead minimatch puts before a part with magic: not empty.
pub(super) const NOT_EMPTY: &str = "(?=.)";

/// Why a regexp source did not compile.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum CompileError {
    /// V8 rejects it too (a class range out of order): minimatch then matches nothing.
    Syntax,
    /// A construct minimatch never emits; a bug here, never a property of the input.
    Unsupported,
}

/// A compiled `^…$` segment regexp: its steps between the anchors.
#[derive(Debug)]
pub(super) struct Program {
    steps: Vec<Step>,
}

impl Program {
    /// Compiles `^` + `body` + `$`, the way `new RegExp` would for what minimatch emits.
    pub(super) fn compile(body: &[u16]) -> Result<Self, CompileError> {
        let not_dot: Vec<u16> = NOT_DOT_PART.encode_utf16().collect();
        let not_empty: Vec<u16> = NOT_EMPTY.encode_utf16().collect();
        let mut steps = Vec::new();
        let mut pos = 0;
        while pos < body.len() {
            let rest = &body[pos..];
            if rest.starts_with(&not_empty) {
                steps.push(Step::NotEnd);
                pos += not_empty.len();
                continue;
            }
            if rest.starts_with(&not_dot) {
                steps.push(Step::NotDotPart);
                pos += not_dot.len();
                continue;
            }
            let c = rest[0];
            if c == unit('[') {
                let (class, end) = parse_class(body, pos + 1).map_err(|()| CompileError::Syntax)?;
                pos = end;
                if body.get(pos..pos + 2) == Some(&[unit('*'), unit('?')]) {
                    steps.push(Step::Repeat(class));
                    pos += 2;
                } else {
                    steps.push(Step::Class(class));
                }
                continue;
            }
            if c == unit('\\') {
                // minimatch escapes only punctuation, which then stands for itself.
                let e = *body.get(pos + 1).ok_or(CompileError::Syntax)?;
                if is_ascii_letter(e) || is_ascii_digit(e) {
                    return Err(CompileError::Unsupported);
                }
                steps.push(Step::Unit(e));
                pos += 2;
                continue;
            }
            if let Ok(b) = u8::try_from(c) {
                if b"^$.*+?()[]{}|".contains(&b) {
                    return Err(CompileError::Unsupported);
                }
            }
            steps.push(Step::Unit(c));
            pos += 1;
        }
        Ok(Self { steps })
    }

    /// Whether the regexp matches all of `s`: a breadth-first run over the steps, so time is
    /// linear in the name whatever the pattern.
    pub(super) fn is_match(&self, s: &[u16]) -> bool {
        let n = self.steps.len();
        let mut current = vec![false; n + 1];
        let mut next = vec![false; n + 1];
        current[0] = true;
        self.close(&mut current, s, 0);
        for (p, &u) in s.iter().enumerate() {
            next.fill(false);
            let mut any = false;
            for (i, step) in self.steps.iter().enumerate() {
                if !current[i] {
                    continue;
                }
                match step {
                    Step::Unit(x) if *x == u => next[i + 1] = true,
                    Step::Class(c) if c.matches(u) => next[i + 1] = true,
                    Step::Repeat(c) if c.matches(u) => next[i] = true,
                    _ => continue,
                }
                any = true;
            }
            if !any {
                return false;
            }
            self.close(&mut next, s, p + 1);
            std::mem::swap(&mut current, &mut next);
        }
        current[n]
    }

    /// Adds the states reachable without consuming a unit at position `p`: past a repeat,
    /// past a lookahead that holds there. Steps only lead forward, so one pass suffices.
    fn close(&self, states: &mut [bool], s: &[u16], p: usize) {
        for (i, step) in self.steps.iter().enumerate() {
            if !states[i] {
                continue;
            }
            let pass = match step {
                Step::Repeat(_) => true,
                Step::NotEnd => s.get(p).is_some_and(|&u| !is_line_terminator(u)),
                Step::NotDotPart => !dot_part_at(s, p),
                _ => false,
            };
            if pass {
                states[i + 1] = true;
            }
        }
    }
}

/// `(?:^|\/)\.{1,2}(?:$|\/)` matches at `p`.
fn dot_part_at(s: &[u16], p: usize) -> bool {
    let slash = unit('/');
    let dot = unit('.');
    let start = if p == 0 { Some(0) } else { None };
    let after_slash = (s.get(p) == Some(&slash)).then_some(p + 1);
    // `^` is tried first, then `\/`; either way one or two dots, then the end or a `/`.
    [start, after_slash].into_iter().flatten().any(|q| {
        let dots = s[q.min(s.len())..]
            .iter()
            .take_while(|&&u| u == dot)
            .count();
        (1..=dots.min(2)).any(|k| q + k == s.len() || s[q + k] == slash)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn syntax_follows_v8() {
        // Each verdict here was checked with `new RegExp(…)` in Node 20.
        let valid = [
            "(?=a)*",
            "(?!a)+",
            "a*?",
            "a{1,2}?",
            "{",
            "a{",
            "}",
            "]",
            "\\k",
            "\\k<a>",
            "\\k<b>(?<b>)",
            "(?<$>)",
            "(?<a1>)",
            "(?<\\u0061>)",
            "(?<\\u{61}>)",
            "(?<é>)",
            "(?<𝑥>)",
            "[]",
            "[]]",
            "[^]",
            "\\c",
            "\\c1",
            "[\\c1-\\c2]",
            "[\\d-a]",
            "[a-\\d]",
            "(?<a>(?<b>))",
            "a{2147483648,2147483647}",
            "x{,5}",
            "\\u{41}",
            "[\\b-a]",
            "\\1(a)",
            "\\2(a)",
            "(?:)*",
            "()*",
            "[\\c]-a]",
            "[a\\-c]",
            "[[:alpha:]",
        ];
        let invalid = [
            "(?<=a)*",
            "^*",
            "$*",
            "\\b*",
            "a**",
            "a*??",
            "{2}",
            "a{2,1}",
            "(?i:a)",
            "(?<a>x)(?<a>y)",
            "(?<a>x)|(?<a>y)",
            "(?<a>)\\k",
            "(?<a>)\\k<b>",
            "(?<1>)",
            "(?<😀>)",
            "[\\101-\\100]",
            "[\\x41-\\x40]",
            "[\\u0041-\\u0040]",
            "[\\08-\\0]",
            "[\\8-\\7]",
            "(",
            "())",
            "(?",
            "(?<",
            "(?<a",
            "(?<a>",
            "a{99999999999,1}",
            "[a-\\b]",
            "[\\c_-\\c0]",
            "[z-a]",
            "[](]",
            "[a",
            "\\",
        ];
        for s in valid {
            assert!(is_valid(&u(s)), "{s} compiles in V8");
        }
        for s in invalid {
            assert!(!is_valid(&u(s)), "{s} is a SyntaxError in V8");
        }
    }

    /// Random sources over the characters the grammar cares about, judged by V8 itself: the
    /// check must agree with `new RegExp(source)` in the installed Node on every one.
    #[test]
    fn syntax_agrees_with_node_on_random_sources() {
        const PIECES: &[&str] = &[
            "[", "]", "(", ")", "(?:", "(?=", "(?!", "(?<=", "(?<!", "(?<a>", "(?<b>", "(?<1>",
            "\\k<a>", "\\k", "{", "}", "{1}", "{2,1}", "{1,}", ",", "*", "+", "?", "|", "^", "$",
            "\\", "\\b", "\\B", "\\d", "\\c", "\\cA", "\\c1", "\\x41", "\\x4", "\\u0041",
            "\\u{41}", "\\0", "\\08", "\\101", "\\8", "\\-", "\\]", "-", "a", "z", "A", "0", "9",
            "_", ".", ":", "<", ">", "=", "!", "é", "😀", "\u{2028}",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let sources: Vec<String> = (0..100_000)
            .map(|i| {
                // Half of them in minimatch's shape: a class probe `[` + text + `]`.
                let mut s = String::from(if i % 2 == 0 { "[" } else { "" });
                for _ in 0..=(next() % 7) {
                    s.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
                }
                if i % 2 == 0 {
                    s.push(']');
                }
                s
            })
            .collect();
        let script = "const src = JSON.parse(require('fs').readFileSync(0, 'utf8'));\
            process.stdout.write(JSON.stringify(src.map(s => { try { new RegExp(s); return true }\
            catch (e) { return false } })))";
        let mut child = std::process::Command::new("node")
            .args(["-e", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node is needed for this test (scripts/test.sh installs it)");
        let input = serde_json::to_vec(&sources).expect("json");
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            stdin.write_all(&input).expect("write to node");
        });
        let out = child.wait_with_output().expect("node ran");
        writer.join().expect("writer");
        assert!(out.status.success());
        let v8: Vec<bool> = serde_json::from_slice(&out.stdout).expect("node's verdicts");
        let mut wrong = Vec::new();
        for (s, &want) in sources.iter().zip(&v8) {
            if is_valid(&u(s)) != want {
                wrong.push(format!("{s:?} (V8: {want})"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} disagreements: {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(20)]
        );
    }

    fn matches(body: &str, name: &str) -> bool {
        Program::compile(&u(body))
            .expect("compiles")
            .is_match(&u(name))
    }

    #[test]
    fn programs_match_code_units() {
        let star = format!("{NOT_DOT_PART}{NOT_EMPTY}[^/]*?");
        assert!(matches(&star, "abc"));
        assert!(matches(&star, ".x"));
        assert!(!matches(&star, ""));
        assert!(!matches(&star, "."));
        assert!(!matches(&star, ".."));
        assert!(
            !matches(&star, "\nx"),
            "(?=.) does not match a line terminator"
        );
        assert!(matches(&star, "x\n"));
        assert!(matches("[^/][^/]", "😀"), "two code units");
        assert!(!matches("[^/]", "😀"));
        assert!(!matches("[😀]", "😀"), "a class holds two lone surrogates");
        assert!(matches("[😀][😀]", "😀"));
        assert!(matches("[a-c]x", "bx"));
        assert!(matches("[^a]", "\u{2028}"));
        assert!(matches("\\*\\.js", "*.js"));
        assert!(matches("", ""));
        assert_eq!(
            Program::compile(&u("[c-a]")).err(),
            Some(CompileError::Syntax)
        );
        assert_eq!(
            Program::compile(&u("a*")).err(),
            Some(CompileError::Unsupported)
        );
    }
}
