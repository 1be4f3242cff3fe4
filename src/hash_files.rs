//! GitHub's `hashFiles()`, byte for byte, with the file contents hashed in parallel.
//!
//! The reference is the runner's `src/Misc/expressionFunc/hashFiles/src/hashFiles.ts` on top of
//! `@actions/glob` 0.7.0 (the version in the runner's package-lock) and its `minimatch` 10. That
//! code, not a general idea of "glob", is the contract; `tests/hash-files-golden` runs it.
//!
//! What it does, and what this module repeats:
//!
//! * **Patterns.** The arguments are joined by newlines and split into lines; each line is trimmed
//!   (JavaScript `trim`), empty lines and lines starting with `#` are skipped. Leading `!`s toggle
//!   negation. A `.` or `..` segment (after unescaping) is an error, except a leading `.`; a
//!   leading `./`, `.`, `~/` or `~` becomes the (escaped) workspace or `$HOME`; any other relative
//!   pattern is put under the workspace. A trailing `/` makes the pattern match directories only.
//!   Each pattern that does not end in `**` (or has a trailing `/`) gets an implicit twin with
//!   `/**` appended, so matching a directory matches everything below it.
//! * **Matching** is minimatch with `dot`, `nobrace`, `noext`, `nocomment`, `nonegate`: per path
//!   segment, `*`, `?`, `[...]` (ranges, `!`/`^`, POSIX classes, escapes) and literal text; a
//!   whole `**` segment is a globstar, which may match zero segments except at the end of the
//!   pattern. An explicit pattern ending in `**` is tested against `path + "/"`, so `a/**` also
//!   matches `a` (the implicit twins are not). Match kinds are bit sets (directory, file); the
//!   patterns are applied in order, a negated one clearing the bits it matches, so the last
//!   matching pattern wins. Minimatch's fast paths (`*.ext` is "ends with `.ext`" taken
//!   literally, `???` compares UTF-16 lengths) are repeated because they change results.
//! * **The walk.** Search roots are the literal prefixes of the positive patterns, in pattern
//!   order, a root below another root dropped. Each root is walked depth-first (an explicit stack,
//!   children pushed in reverse), entering every directory that matches or may contain a match.
//!   Children come from Node's `fs.readdir`, which on Unix is libuv's `scandir` sorted with
//!   `strcmp`: names are byte-sorted per directory (checked on ext4: not inode or hash order).
//!   So `a/b/x` comes before `a/b-c`, and the order is not a global sort of full paths.
//! * **Symlinks.** hashFiles passes `followSymbolicLinks: false` unless `--follow-symbolic-links`.
//!   Without it, entries are `lstat`ed: a symlink is yielded like a file, then `stat`ed: a link
//!   to a directory is skipped, a link to a file hashes the target, a broken link is an error.
//!   With it, entries are `stat`ed, links to directories are entered (a directory that is the
//!   same as one of its ancestors is a cycle and skipped), broken links are silently omitted.
//! * **Digest.** Only yielded non-directories strictly inside the workspace count (a textual
//!   prefix check against the physical workspace path, which is what `process.cwd()` returns).
//!   The result is SHA-256 over the concatenated raw 32-byte SHA-256 digests of the contents,
//!   lowercase hex, in walk order; nothing matched gives `""`, not the hash of nothing.
//!
//! Invariants: the walk is sequential and ordered; only the hashing of the collected list runs in
//! parallel and its results are combined in list order, so threads never change the hash. The
//! first error in walk order is the one reported, as the runner stops at it.
//!
//! Known, deliberate differences (none change a hash that GitHub computes successfully on Linux):
//! subtrees outside the workspace are not walked (GitHub walks them and ignores their files, but
//! could fail on an unreadable directory there); a directory cycle is detected by device and
//! inode instead of `realpath`; `?` and classes match one Unicode scalar where JavaScript without
//! the `u` flag matches one UTF-16 unit (differs only for characters outside the BMP); names that
//! are not UTF-8 are matched as raw bytes (Node cannot even open them).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use regex::bytes::Regex;
use sha2::{Digest, Sha256};

use crate::error::UsageError;

/// Options of `hash-files`.
pub struct HashOptions {
    /// Descend into symlinked directories (`--follow-symbolic-links`); hashFiles' default is off.
    pub follow_symbolic_links: bool,
}

/// The outcome of [`hash_files`].
pub struct HashResult {
    /// Lowercase hex SHA-256 of the per-file digests; `""` when nothing matched.
    pub hash: String,
    /// How many files were hashed.
    pub files: usize,
}

/// Computes GitHub's `hashFiles(patterns…)` for `workspace` (see the module docs).
///
/// Bad patterns are [`UsageError`]s; I/O failures and matched broken symlinks are plain errors.
pub fn hash_files(
    workspace: &Path,
    patterns: &[String],
    options: &HashOptions,
) -> anyhow::Result<HashResult> {
    // `process.cwd()` is the physical path: resolve symlinks in the workspace the same way.
    let workspace = fs::canonicalize(workspace)
        .with_context(|| format!("cannot resolve the workspace {}", workspace.display()))?;
    let home = crate::config::home();
    let glob = Glob::parse(patterns, &workspace, home.as_deref())?;
    let candidates = Walker::new(&glob, &workspace, options.follow_symbolic_links).run()?;

    let digests: Vec<anyhow::Result<Option<[u8; 32]>>> = candidates
        .par_iter()
        .map_init(|| vec![0u8; 256 * 1024], |buf, c| digest_file(c, buf))
        .collect();
    let mut total = Sha256::new();
    let mut files = 0;
    for digest in digests {
        if let Some(d) = digest? {
            total.update(d);
            files += 1;
        }
    }
    let hash = if files == 0 {
        String::new()
    } else {
        crate::keys::hex(&total.finalize())
    };
    Ok(HashResult { hash, files })
}

/// A path the walk yielded as a file (by `lstat` or, when following links, by `stat`).
#[derive(Debug)]
struct Candidate {
    path: PathBuf,
    /// Yielded as a symlink without following: its target may be a directory (skipped) or
    /// missing (an error), which only opening it tells.
    is_link: bool,
}

/// SHA-256 of one candidate's contents; `None` for a symlink to a directory (hashFiles skips it).
fn digest_file(c: &Candidate, buf: &mut [u8]) -> anyhow::Result<Option<[u8; 32]>> {
    let mut file = match File::open(&c.path) {
        Ok(f) => f,
        Err(e) if c.is_link && e.kind() == io::ErrorKind::NotFound => {
            anyhow::bail!(
                "{}: broken symbolic link matched (its target does not exist); GitHub's hashFiles() fails on it too",
                c.path.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", c.path.display())),
    };
    if c.is_link {
        let meta = file
            .metadata()
            .with_context(|| format!("cannot stat {}", c.path.display()))?;
        if meta.is_dir() {
            return Ok(None);
        }
    }
    let mut hasher = Sha256::new();
    loop {
        match file.read(buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", c.path.display())),
        }
    }
    Ok(Some(hasher.finalize().into()))
}

// ---------------------------------------------------------------------------------------------
// Patterns (@actions/glob `Pattern`, `getSearchPaths`, `match`, `partialMatch`)

/// `MatchKind.Directory`.
const MATCH_DIR: u8 = 1;
/// `MatchKind.File`.
const MATCH_FILE: u8 = 2;
/// `MatchKind.All`.
const MATCH_ALL: u8 = MATCH_DIR | MATCH_FILE;

/// All patterns in order, each followed by its implicit-descendants twin where it has one.
#[derive(Debug)]
struct Glob {
    patterns: Vec<Pattern>,
    /// Where the walk starts, in order, none below another.
    search_paths: Vec<PathBuf>,
}

// The flags mirror @actions/glob's `Pattern` fields one to one, which keeps the port checkable.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug)]
struct Pattern {
    negate: bool,
    /// Only directories match (the line ended in `/`).
    trailing_separator: bool,
    /// `@actions/glob` segments end in a literal `**`: test `path + "/"` (unless implicit).
    ends_with_globstar: bool,
    /// The `/**` twin added for implicit descendants.
    implicit: bool,
    search_path: PathBuf,
    /// The minimatch parts: `""` for the root, then one matcher per segment.
    parts: Vec<Part>,
}

impl Glob {
    /// Splits the arguments into lines and parses each one, as `DefaultGlobber.create` does.
    fn parse(args: &[String], workspace: &Path, home: Option<&Path>) -> anyhow::Result<Self> {
        let cwd = workspace.to_str().ok_or_else(|| {
            UsageError::new(format!(
                "the workspace path {} is not UTF-8, which hashFiles() patterns cannot express",
                workspace.display()
            ))
        })?;
        let joined = args.join("\n");
        let mut patterns = Vec::new();
        for line in joined.split('\n').map(js_trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, text) = parse_negation(line);
            let fixed = fixup_pattern(line, text, cwd, home)?;
            let pattern = Pattern::new(negate, &fixed, false);
            // The implicit twin (DefaultGlobber.globGenerator): segments + `**`.
            let twin = (pattern.trailing_separator || !pattern.ends_with_globstar).then(|| {
                let base = safe_trim_trailing_separator(&fixed);
                let sep = if base.ends_with('/') { "" } else { "/" };
                Pattern::new(negate, &format!("{base}{sep}**"), true)
            });
            patterns.push(pattern);
            patterns.extend(twin);
        }
        let search_paths = search_paths(&patterns);
        Ok(Self {
            patterns,
            search_paths,
        })
    }

    /// `patternHelper.match`: apply the patterns in order, negations clearing bits.
    fn match_kind(&self, path: &[u8]) -> u8 {
        let mut result = 0;
        for p in &self.patterns {
            if p.negate {
                result &= !p.match_kind(path);
            } else {
                result |= p.match_kind(path);
            }
        }
        result
    }

    /// `patternHelper.partialMatch`: could something below `path` match a positive pattern?
    fn partial_match(&self, path: &[u8]) -> bool {
        self.patterns
            .iter()
            .any(|p| !p.negate && p.partial_match(path))
    }
}

/// Leading `!`s, each toggling negation, with whitespace trimmed after each (Pattern ctor).
fn parse_negation(line: &str) -> (bool, &str) {
    let mut negate = false;
    let mut rest = line;
    while let Some(r) = rest.strip_prefix('!') {
        negate = !negate;
        rest = js_trim(r);
    }
    (negate, rest)
}

/// `Pattern.fixupPattern`: validate, then make the pattern absolute.
fn fixup_pattern(
    line: &str,
    pattern: &str,
    cwd: &str,
    home: Option<&Path>,
) -> anyhow::Result<String> {
    if pattern.is_empty() {
        return Err(UsageError::new(format!(
            "invalid pattern '{line}': nothing left after '!' (GitHub's hashFiles() rejects an empty pattern)"
        ))
        .into());
    }
    let literal_segments = path_segments(pattern).into_iter().map(get_literal);
    for (i, seg) in literal_segments.enumerate() {
        if (seg == "." && i > 0) || seg == ".." {
            return Err(UsageError::new(format!(
                "invalid pattern '{line}': a '.' or '..' segment is not allowed (only a leading './'), as in GitHub's hashFiles()"
            ))
            .into());
        }
    }
    let pattern = normalize_separators(pattern);
    let fixed = if pattern == "." || pattern.starts_with("./") {
        format!("{}{}", glob_escape(cwd), &pattern[1..])
    } else if pattern == "~" || pattern.starts_with("~/") {
        let home = home.ok_or_else(|| {
            UsageError::new(format!(
                "invalid pattern '{line}': cannot expand '~', HOME is not set"
            ))
        })?;
        let home = home
            .to_str()
            .filter(|h| h.starts_with('/'))
            .ok_or_else(|| {
                UsageError::new(format!(
                "invalid pattern '{line}': HOME ({}) must be an absolute UTF-8 path to expand '~'",
                home.display()
            ))
            })?;
        format!("{}{}", glob_escape(home), &pattern[1..])
    } else if pattern.starts_with('/') {
        pattern
    } else {
        let cwd = glob_escape(cwd);
        let sep = if cwd.ends_with('/') { "" } else { "/" };
        format!("{cwd}{sep}{pattern}")
    };
    Ok(normalize_separators(&fixed))
}

impl Pattern {
    /// The rest of the `Pattern` constructor, on a fixed-up absolute pattern.
    fn new(negate: bool, fixed: &str, implicit: bool) -> Self {
        let segments = path_segments(fixed);
        let trailing_separator = fixed.ends_with('/');
        let trimmed = safe_trim_trailing_separator(fixed);
        let mut search = Vec::new();
        for seg in &segments {
            let lit = get_literal(seg);
            if lit.is_empty() {
                break;
            }
            search.push(lit);
        }
        let search_path = join_segments(&search);
        let ends_with_globstar = segments.last().is_some_and(|s| s == "**");
        let mut parts: Vec<Part> = Vec::new();
        for raw in trimmed.split('/') {
            let part = Part::parse(raw);
            // minimatch levelOneOptimize: adjacent `**` collapse.
            if matches!(part, Part::Globstar) && matches!(parts.last(), Some(Part::Globstar)) {
                continue;
            }
            parts.push(part);
        }
        Self {
            negate,
            trailing_separator,
            ends_with_globstar,
            implicit,
            search_path: PathBuf::from(search_path),
            parts,
        }
    }

    /// `Pattern.match`.
    fn match_kind(&self, path: &[u8]) -> u8 {
        let mut file: Vec<&[u8]> = split_path(path);
        if self.ends_with_globstar && !self.implicit && !path.ends_with(b"/") {
            file.push(b"");
        }
        if full_match(&self.parts, &file) {
            if self.trailing_separator {
                MATCH_DIR
            } else {
                MATCH_ALL
            }
        } else {
            0
        }
    }

    /// `Pattern.partialMatch` (minimatch `matchOne(…, partial = true)`).
    fn partial_match(&self, path: &[u8]) -> bool {
        if path == b"/" {
            // The root regexp of an absolute pattern is `/`.
            return true;
        }
        let file = split_path(path);
        for (i, f) in file.iter().enumerate() {
            match self.parts.get(i) {
                None => return false,
                Some(Part::Globstar) => return true,
                Some(p) => {
                    if !p.matches(f) {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// minimatch `matchOne` without `partial`: a globstar matches zero or more segments, but at
/// least one when it ends the pattern.
fn full_match(parts: &[Part], file: &[&[u8]]) -> bool {
    // next[j]: parts[i + 1..] matches file[j..]; rolled from the last part to the first.
    let n = file.len();
    let mut next: Vec<bool> = (0..=n).map(|j| j == n).collect();
    let mut cur = vec![false; n + 1];
    for (i, part) in parts.iter().enumerate().rev() {
        match part {
            Part::Globstar if i + 1 == parts.len() => {
                for (j, c) in cur.iter_mut().enumerate() {
                    *c = j < n;
                }
            }
            Part::Globstar => {
                cur[n] = next[n];
                for j in (0..n).rev() {
                    cur[j] = next[j] || cur[j + 1];
                }
            }
            _ => {
                cur[n] = false;
                for j in 0..n {
                    cur[j] = next[j + 1] && part.matches(file[j]);
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    next[0]
}

/// `getSearchPaths`: positive patterns' search paths in order, minus duplicates and paths below
/// another candidate.
fn search_paths(patterns: &[Pattern]) -> Vec<PathBuf> {
    let positive: Vec<&Pattern> = patterns.iter().filter(|p| !p.negate).collect();
    let candidates: HashSet<&Path> = positive.iter().map(|p| p.search_path.as_path()).collect();
    let mut included: HashSet<&Path> = HashSet::new();
    let mut result = Vec::new();
    for p in positive {
        let key = p.search_path.as_path();
        if included.contains(key) {
            continue;
        }
        let has_ancestor = key.ancestors().skip(1).any(|a| candidates.contains(a));
        if !has_ancestor {
            result.push(key.to_path_buf());
            included.insert(key);
        }
    }
    result
}

/// One minimatch path part.
#[derive(Debug)]
enum Part {
    Globstar,
    /// No magic: compared as a string (after unescaping).
    Literal(Vec<u8>),
    /// Minimatch's fast tests, which take precedence over the regexp.
    Fast(FastTest),
    Regex(Regex),
    /// A character class that can match nothing poisons the part (`$.`).
    Never,
}

#[derive(Debug)]
enum FastTest {
    /// `*`: any non-empty name.
    Star,
    /// `*ext` (no `+@!?*[(` in `ext`): ends with `ext`, backslashes and all.
    StarExt(Vec<u8>),
    /// `??…ext`: same UTF-16 length as the whole part, and ends with `ext`.
    Qmarks { utf16_len: usize, ext: Vec<u8> },
    /// `*.*`: contains a dot.
    StarDotStar,
    /// `.*`: starts with a dot.
    DotStar,
}

impl Part {
    fn parse(raw: &str) -> Self {
        if raw == "**" {
            return Part::Globstar;
        }
        let compiled = compile_segment(raw);
        match compiled {
            Compiled::Literal(s) => Part::Literal(s.into_bytes()),
            Compiled::Never => Part::Never,
            Compiled::Regex(re) => {
                if let Some(fast) = fast_test(raw) {
                    Part::Fast(fast)
                } else {
                    let re = Regex::new(&format!("^(?s:{re})$"))
                        .expect("segment regexes are built from escaped pieces");
                    Part::Regex(re)
                }
            }
        }
    }

    fn matches(&self, name: &[u8]) -> bool {
        let not_dots = name != b"." && name != b"..";
        match self {
            // Only reached by the trailing `""` of `path + "/"`, which a globstar swallows.
            Part::Globstar => true,
            Part::Literal(s) => s == name,
            Part::Never => false,
            Part::Regex(re) => re.is_match(name),
            Part::Fast(FastTest::Star) => !name.is_empty() && not_dots,
            Part::Fast(FastTest::StarExt(ext)) => name.ends_with(ext),
            Part::Fast(FastTest::Qmarks { utf16_len, ext }) => {
                utf16_len_of(name) == *utf16_len && not_dots && name.ends_with(ext)
            }
            Part::Fast(FastTest::StarDotStar) => not_dots && name.contains(&b'.'),
            Part::Fast(FastTest::DotStar) => not_dots && name.starts_with(b"."),
        }
    }
}

fn utf16_len_of(name: &[u8]) -> usize {
    String::from_utf8_lossy(name).encode_utf16().count()
}

/// Minimatch's `parse` fast paths (checked in this order on the raw part).
fn fast_test(raw: &str) -> Option<FastTest> {
    let no_ext_magic = |s: &str| !s.contains(['+', '@', '!', '?', '*', '[', '(']);
    let stars = raw.len() - raw.trim_start_matches('*').len();
    let rest = &raw[stars..];
    if stars > 0 && rest.is_empty() {
        return Some(FastTest::Star);
    }
    if stars > 0 && no_ext_magic(rest) {
        return Some(FastTest::StarExt(rest.as_bytes().to_vec()));
    }
    let qmarks = raw.len() - raw.trim_start_matches('?').len();
    if qmarks > 0 && no_ext_magic(&raw[qmarks..]) {
        return Some(FastTest::Qmarks {
            utf16_len: raw.encode_utf16().count(),
            ext: raw.as_bytes()[qmarks..].to_vec(),
        });
    }
    if stars > 0 {
        if let Some(after) = rest.strip_prefix('.') {
            if !after.is_empty() && after.bytes().all(|b| b == b'*') {
                return Some(FastTest::StarDotStar);
            }
        }
    }
    if let Some(after) = raw.strip_prefix('.') {
        if !after.is_empty() && after.bytes().all(|b| b == b'*') {
            return Some(FastTest::DotStar);
        }
    }
    None
}

enum Compiled {
    Literal(String),
    Regex(String),
    Never,
}

/// minimatch's `AST.#parseGlob` for a part without extglobs: a regexp if the part has magic,
/// else its unescaped text.
fn compile_segment(glob: &str) -> Compiled {
    let chars: Vec<char> = glob.chars().collect();
    let mut re = String::new();
    let mut literal = String::new();
    let mut magic = false;
    let mut in_star = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '*' {
            if !in_star {
                re.push_str("[^/]*");
            }
            in_star = true;
            magic = true;
            i += 1;
            continue;
        }
        in_star = false;
        if c == '\\' {
            if i + 1 == chars.len() {
                push_literal(&mut re, &mut literal, '\\');
                i += 1;
            } else {
                push_literal(&mut re, &mut literal, chars[i + 1]);
                i += 2;
            }
            continue;
        }
        if c == '[' {
            match parse_class(&chars, i) {
                Class::Invalid => {}
                Class::Never => return Compiled::Never,
                Class::Single(ch, consumed) => {
                    push_literal(&mut re, &mut literal, ch);
                    i += consumed;
                    continue;
                }
                Class::Set(src, consumed) => {
                    re.push_str(&src);
                    magic = true;
                    i += consumed;
                    continue;
                }
            }
        }
        if c == '?' {
            re.push_str("[^/]");
            magic = true;
            i += 1;
            continue;
        }
        push_literal(&mut re, &mut literal, c);
        i += 1;
    }
    if magic {
        Compiled::Regex(re)
    } else {
        Compiled::Literal(literal)
    }
}

fn push_literal(re: &mut String, literal: &mut String, c: char) {
    re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
    literal.push(c);
}

enum Class {
    /// Not a closed class: the `[` is a literal.
    Invalid,
    /// Matches nothing, and poisons the whole part.
    Never,
    /// One positive literal character (`[_]` is an escape, not magic).
    Single(char, usize),
    /// A regexp class and the number of chars consumed.
    Set(String, usize),
}

/// minimatch `parseClass`, emitting a Rust regexp.
fn parse_class(glob: &[char], pos: usize) -> Class {
    // (class text, negated) as in minimatch's table; Rust has the same Unicode properties.
    const POSIX: &[(&str, &str, bool)] = &[
        ("[:alnum:]", r"\p{L}\p{Nl}\p{Nd}", false),
        ("[:alpha:]", r"\p{L}\p{Nl}", false),
        ("[:ascii:]", r"\x00-\x7f", false),
        ("[:blank:]", r"\p{Zs}\t", false),
        ("[:cntrl:]", r"\p{Cc}", false),
        ("[:digit:]", r"\p{Nd}", false),
        ("[:graph:]", r"\p{Z}\p{C}", true),
        ("[:lower:]", r"\p{Ll}", false),
        ("[:print:]", r"\p{C}", false),
        ("[:punct:]", r"\p{P}", false),
        ("[:space:]", r"\p{Z}\t\r\n\x0B\x0C", false),
        ("[:upper:]", r"\p{Lu}", false),
        ("[:word:]", r"\p{L}\p{Nl}\p{Nd}\p{Pc}", false),
        ("[:xdigit:]", r"A-Fa-f0-9", false),
    ];
    let esc = |c: char| regex::escape(c.encode_utf8(&mut [0; 4]));
    let starts_with = |at: usize, s: &str| {
        let s: Vec<char> = s.chars().collect();
        glob.len() >= at + s.len() && glob[at..at + s.len()] == s[..]
    };
    // Each entry is one minimatch `ranges` item; `single` remembers a lone literal char.
    let mut ranges: Vec<String> = Vec::new();
    let mut single: Option<char> = None;
    let mut negs: Vec<&str> = Vec::new();
    let mut i = pos + 1;
    let mut saw_start = false;
    let mut escaping = false;
    let mut negate = false;
    let mut end_pos = None;
    let mut range_start: Option<char> = None;
    'outer: while i < glob.len() {
        let c = glob[i];
        if (c == '!' || c == '^') && i == pos + 1 {
            negate = true;
            i += 1;
            continue;
        }
        if c == ']' && saw_start && !escaping {
            end_pos = Some(i + 1);
            break;
        }
        saw_start = true;
        if c == '\\' && !escaping {
            escaping = true;
            i += 1;
            continue;
        }
        if c == '[' && !escaping {
            for (name, src, neg) in POSIX {
                if starts_with(i, name) {
                    if range_start.is_some() {
                        return Class::Never;
                    }
                    i += name.chars().count();
                    if *neg {
                        negs.push(src);
                    } else {
                        ranges.push((*src).to_string());
                    }
                    continue 'outer;
                }
            }
        }
        escaping = false;
        if let Some(start) = range_start.take() {
            if c > start {
                ranges.push(format!("{}-{}", esc(start), esc(c)));
            } else if c == start {
                ranges.push(esc(c));
                if ranges.len() == 1 {
                    single = Some(c);
                }
            }
            i += 1;
            continue;
        }
        if starts_with(i + 1, "-]") {
            ranges.push(format!("{}{}", esc(c), esc('-')));
            i += 2;
            continue;
        }
        if starts_with(i + 1, "-") {
            range_start = Some(c);
            i += 2;
            continue;
        }
        ranges.push(esc(c));
        if ranges.len() == 1 {
            single = Some(c);
        }
        i += 1;
    }
    let Some(end_pos) = end_pos else {
        return Class::Invalid;
    };
    if ranges.is_empty() && negs.is_empty() {
        return Class::Never;
    }
    if negs.is_empty() && ranges.len() == 1 && !negate {
        if let Some(c) = single {
            return Class::Single(c, end_pos - pos);
        }
    }
    let sranges = format!("[{}{}]", if negate { "^" } else { "" }, ranges.concat());
    let snegs = format!("[{}{}]", if negate { "" } else { "^" }, negs.concat());
    let src = match (ranges.is_empty(), negs.is_empty()) {
        (false, false) => format!("(?:{sranges}|{snegs})"),
        (false, true) => sranges,
        _ => snegs,
    };
    Class::Set(src, end_pos - pos)
}

// ---------------------------------------------------------------------------------------------
// Path helpers (@actions/glob internal-path, internal-path-helper, Pattern.getLiteral/globEscape)

/// JavaScript `String.prototype.trim` (its `WhiteSpace` and `LineTerminator`), not Rust's `trim`.
fn js_trim(s: &str) -> &str {
    let is_js_space = |c: char| {
        matches!(
            c,
            '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
                ..='\u{200A}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{202F}'
                    | '\u{205F}'
                    | '\u{3000}'
                    | '\u{FEFF}'
        )
    };
    s.trim_matches(is_js_space)
}

/// Collapses runs of `/`.
fn normalize_separators(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Normalizes separators and drops a trailing `/`, except for the root itself.
fn safe_trim_trailing_separator(p: &str) -> String {
    let p = normalize_separators(p);
    if p.len() > 1 && p.ends_with('/') {
        p[..p.len() - 1].to_string()
    } else {
        p
    }
}

/// `new Path(p).segments`: `["/", "a", "b"]` for `/a/b`, `["a", "b"]` for `a/b`.
fn path_segments(p: &str) -> Vec<String> {
    let p = safe_trim_trailing_separator(p);
    match p.strip_prefix('/') {
        Some("") => vec!["/".to_string()],
        Some(rest) => std::iter::once("/".to_string())
            .chain(rest.split('/').map(str::to_string))
            .collect(),
        None => p.split('/').map(str::to_string).collect(),
    }
}

/// `new Path(segments).toString()`.
fn join_segments(segments: &[String]) -> String {
    let mut out = String::new();
    for (i, s) in segments.iter().enumerate() {
        if i > 0 && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(s);
    }
    out
}

/// `Pattern.getLiteral`: the unescaped text of a part, or `""` if it has a glob.
fn get_literal(segment: impl AsRef<str>) -> String {
    let s: Vec<char> = segment.as_ref().chars().collect();
    let mut literal = String::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '\\' && i + 1 < s.len() {
            literal.push(s[i + 1]);
            i += 2;
            continue;
        }
        if c == '*' || c == '?' {
            return String::new();
        }
        if c == '[' && i + 1 < s.len() {
            let mut set = String::new();
            let mut closed = None;
            let mut i2 = i + 1;
            while i2 < s.len() {
                let c2 = s[i2];
                if c2 == '\\' && i2 + 1 < s.len() {
                    i2 += 1;
                    set.push(s[i2]);
                } else if c2 == ']' {
                    closed = Some(i2);
                    break;
                } else {
                    set.push(c2);
                }
                i2 += 1;
            }
            if let Some(closed) = closed {
                if set.chars().count() > 1 {
                    return String::new();
                }
                if !set.is_empty() {
                    literal.push_str(&set);
                    i = closed + 1;
                    continue;
                }
            }
        }
        literal.push(c);
        i += 1;
    }
    literal
}

/// `Pattern.globEscape` (Linux): make a directory name safe inside a pattern.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '?' => out.push_str("[?]"),
            '*' => out.push_str("[*]"),
            // `(\[)(?=[^/]+\])`: only when a `]` follows within the same segment.
            '[' if {
                let rest = &chars[i + 1..];
                let seg_end = rest.iter().position(|&c| c == '/').unwrap_or(rest.len());
                rest[..seg_end].iter().skip(1).any(|&c| c == ']')
            } =>
            {
                out.push_str("[[]");
            }
            _ => out.push(c),
        }
    }
    out
}

/// minimatch's `slashSplit` of an absolute path: `/a/b` → `["", "a", "b"]`.
fn split_path(path: &[u8]) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    // Runs of slashes count as one; paths from the walk have none, but keep the rule.
    let mut i = 1;
    while i + 1 < parts.len() {
        if parts[i].is_empty() {
            parts.remove(i);
        } else {
            i += 1;
        }
    }
    parts
}

// ---------------------------------------------------------------------------------------------
// The walk (DefaultGlobber.globGenerator)

/// Where a path stands relative to the workspace (a textual check, like hashFiles').
#[derive(PartialEq, Eq, Clone, Copy)]
enum Place {
    /// Strictly inside: its files count.
    Inside,
    /// The workspace or one of its ancestors: only the way down to the workspace matters.
    Above,
    /// Elsewhere: nothing below can count, so it is not walked.
    Outside,
}

fn place(path: &[u8], workspace: &[u8]) -> Place {
    let below = |a: &[u8], b: &[u8]| a.len() > b.len() && a.starts_with(b) && a[b.len()] == b'/';
    if below(path, workspace) {
        Place::Inside
    } else if path == workspace || path == b"/" || below(workspace, path) {
        Place::Above
    } else {
        Place::Outside
    }
}

struct Walker<'a> {
    glob: &'a Glob,
    workspace: &'a Path,
    follow: bool,
    /// (device, inode) of the directories on the current path, by level (cycle detection).
    chain: Vec<(u64, u64)>,
    out: Vec<Candidate>,
}

/// One stack entry: a path, its depth below its search root (1 for the root), and the type
/// `readdir` reported when known (saves an `lstat`).
struct Item {
    path: PathBuf,
    level: usize,
    file_type: Option<fs::FileType>,
}

impl<'a> Walker<'a> {
    fn new(glob: &'a Glob, workspace: &'a Path, follow: bool) -> Self {
        Self {
            glob,
            workspace,
            follow,
            chain: Vec::new(),
            out: Vec::new(),
        }
    }

    fn run(mut self) -> anyhow::Result<Vec<Candidate>> {
        let ws = self.workspace.as_os_str().as_bytes();
        let mut stack: Vec<Item> = Vec::new();
        for root in &self.glob.search_paths {
            if place(root.as_os_str().as_bytes(), ws) == Place::Outside {
                continue;
            }
            match fs::symlink_metadata(root) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot stat {}", root.display())),
            }
            // `stack.unshift`: the first root ends up on top.
            stack.insert(
                0,
                Item {
                    path: root.clone(),
                    level: 1,
                    file_type: None,
                },
            );
        }
        while let Some(item) = stack.pop() {
            self.visit(item, &mut stack)?;
        }
        Ok(self.out)
    }

    fn visit(&mut self, item: Item, stack: &mut Vec<Item>) -> anyhow::Result<()> {
        let ws = self.workspace.as_os_str().as_bytes();
        let bytes = item.path.as_os_str().as_bytes();
        let place = place(bytes, ws);
        if place == Place::Outside {
            return Ok(());
        }
        let kind = self.glob.match_kind(bytes);
        if kind == 0 && !self.glob.partial_match(bytes) {
            return Ok(());
        }
        let Some((is_dir, is_link)) = self.stat(&item)? else {
            return Ok(());
        };
        if is_dir {
            // A matched directory is yielded, and hashFiles skips it; either way, descend.
            if place == Place::Above && item.path.as_os_str().as_bytes() != ws {
                // Only the way down to the workspace can lead to files that count.
                let depth = item.path.components().count();
                let next: PathBuf = self.workspace.components().take(depth + 1).collect();
                stack.push(Item {
                    path: next,
                    level: item.level + 1,
                    file_type: None,
                });
                return Ok(());
            }
            let mut children: Vec<(Vec<u8>, Option<fs::FileType>)> = Vec::new();
            let entries = fs::read_dir(&item.path)
                .with_context(|| format!("cannot read directory {}", item.path.display()))?;
            for entry in entries {
                let entry = entry
                    .with_context(|| format!("cannot read directory {}", item.path.display()))?;
                children.push((
                    entry.file_name().as_bytes().to_vec(),
                    entry.file_type().ok(),
                ));
            }
            // libuv's scandir sorts with strcmp: plain bytes.
            children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (name, file_type) in children.into_iter().rev() {
                stack.push(Item {
                    path: item.path.join(OsStr::from_bytes(&name)),
                    level: item.level + 1,
                    file_type,
                });
            }
        } else if kind & MATCH_FILE != 0 && place == Place::Inside {
            self.out.push(Candidate {
                path: item.path,
                is_link,
            });
        }
        Ok(())
    }

    /// `DefaultGlobber.stat`: `(is_dir, is_unfollowed_link)`, or `None` to skip the item
    /// (a broken link or a cycle while following links).
    fn stat(&mut self, item: &Item) -> anyhow::Result<Option<(bool, bool)>> {
        if !self.follow {
            let file_type = match item.file_type {
                Some(t) => t,
                None => fs::symlink_metadata(&item.path)
                    .with_context(|| format!("cannot stat {}", item.path.display()))?
                    .file_type(),
            };
            return Ok(Some((file_type.is_dir(), file_type.is_symlink())));
        }
        // A regular file is its own target: no need to stat it again.
        if item.file_type.is_some_and(|t| t.is_file()) {
            return Ok(Some((false, false)));
        }
        let meta = match fs::metadata(&item.path) {
            Ok(m) => m,
            // omitBrokenSymbolicLinks defaults to true in @actions/glob.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot stat {}", item.path.display()))
            }
        };
        if !meta.is_dir() {
            return Ok(Some((false, false)));
        }
        self.chain.truncate(item.level - 1);
        let id = (meta.dev(), meta.ino());
        if self.chain.contains(&id) {
            return Ok(None);
        }
        self.chain.push(id);
        Ok(Some((true, false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(s: &str) -> Part {
        Part::parse(s)
    }

    fn seg_match(pat: &str, name: &str) -> bool {
        part(pat).matches(name.as_bytes())
    }

    fn glob(lines: &[&str]) -> anyhow::Result<Glob> {
        let args: Vec<String> = lines.iter().map(|s| (*s).to_string()).collect();
        Glob::parse(&args, Path::new("/ws"), Some(Path::new("/home/u")))
    }

    fn kind(lines: &[&str], path: &str) -> u8 {
        glob(lines)
            .expect("valid patterns")
            .match_kind(path.as_bytes())
    }

    #[test]
    fn segments_follow_minimatch() {
        assert!(seg_match("*", ".hidden"));
        assert!(seg_match("*.js", ".js"));
        assert!(seg_match("*.js", "a.js"));
        assert!(!seg_match("*.js", "a.jsx"));
        assert!(seg_match("?.txt", "a.txt"));
        assert!(!seg_match("?.txt", "ab.txt"));
        assert!(seg_match("[ab]x", "bx"));
        assert!(!seg_match("[!ab]x", "bx"));
        assert!(seg_match("[^ab]x", "cx"));
        assert!(seg_match("[a-c]", "b"));
        assert!(seg_match("[a-]", "-"));
        assert!(seg_match("[]]", "]"));
        assert!(seg_match("[[:digit:]]x", "7x"));
        assert!(seg_match("a\\*b", "a*b"));
        assert!(!seg_match("a\\*b", "axb"));
        assert!(seg_match("[x", "[x"), "an unclosed class is literal");
        assert!(!seg_match("[z-a]", "z"), "an empty class matches nothing");
        assert!(seg_match("{a,b}", "{a,b}"), "no braces");
        assert!(seg_match("+(a)", "+(a)"), "no extglobs");
        assert!(seg_match("a[*]b", "a*b"));
        // minimatch's `*ext` fast path compares the raw text, backslash included.
        assert!(seg_match("*a\\b", "xa\\b"));
    }

    #[test]
    fn literals_and_escapes() {
        assert_eq!(get_literal("a[b]c"), "abc");
        assert_eq!(get_literal("a[bc]"), "");
        assert_eq!(get_literal("a\\*"), "a*");
        assert_eq!(get_literal("[]]"), "[]]");
        assert_eq!(glob_escape("/w/a[1]/b*?/c\\"), "/w/a[[]1]/b[*][?]/c\\\\");
        assert_eq!(glob_escape("/w/a[/b]"), "/w/a[/b]");
        assert_eq!(js_trim("\u{FEFF} x \r"), "x");
    }

    #[test]
    fn dot_segments_are_usage_errors() {
        for bad in ["a/../b", "..", "a/./b", "!../x", "a/[.]/b", "~/.."] {
            let err = glob(&[bad]).expect_err(bad);
            assert!(err.downcast_ref::<UsageError>().is_some(), "{bad}: {err}");
            assert!(
                err.to_string().contains(bad.trim_start_matches('!')),
                "{err}"
            );
        }
        assert!(glob(&["./a/b"]).is_ok());
        assert!(glob(&["."]).is_ok());
        assert!(glob(&["a/.b/..c"]).is_ok());
        assert!(glob(&["!"])
            .expect_err("empty")
            .downcast_ref::<UsageError>()
            .is_some());
    }

    #[test]
    fn patterns_become_absolute() {
        let g = glob(&["a/*", "./b", "~/c/**", "/abs/d", "# comment", "", "  e  "]).expect("ok");
        let roots: Vec<_> = g
            .search_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(roots, ["/ws/a", "/ws/b", "/home/u/c", "/abs/d", "/ws/e"]);
        let g = glob(&["a/b/*", "a/*", "a/b/c"]).expect("ok");
        assert_eq!(g.search_paths, [PathBuf::from("/ws/a")]);
    }

    #[test]
    fn implicit_descendants_and_directories_only() {
        assert_eq!(kind(&["a"], "/ws/a/x/y"), MATCH_ALL);
        assert_eq!(kind(&["a"], "/ws/ab"), 0);
        assert_eq!(
            kind(&["a/"], "/ws/a"),
            MATCH_DIR,
            "trailing / matches directories"
        );
        assert_eq!(kind(&["a/"], "/ws/a/f"), MATCH_ALL, "and everything below");
        assert_eq!(kind(&["a/**"], "/ws/a"), MATCH_ALL, "a/** matches a itself");
        assert_eq!(kind(&["**/x"], "/ws/x"), MATCH_ALL);
        assert_eq!(kind(&["**/x"], "/ws/p/q/x"), MATCH_ALL);
        assert_eq!(kind(&["a/**/b"], "/ws/a/b"), MATCH_ALL);
    }

    #[test]
    fn negation_applies_in_order() {
        assert_eq!(kind(&["**", "!a"], "/ws/a/f"), 0);
        assert_eq!(kind(&["**", "!a", "a/f"], "/ws/a/f"), MATCH_ALL);
        assert_eq!(kind(&["!a", "**"], "/ws/a/f"), MATCH_ALL);
        assert_eq!(kind(&["**", "!!a"], "/ws/a/f"), MATCH_ALL, "!! is positive");
        // `!a/` clears only the directory bit of `a` itself.
        assert_eq!(kind(&["**", "!a/"], "/ws/a"), MATCH_FILE);
    }

    #[test]
    fn partial_matches_prune_the_walk() {
        let g = glob(&["src/*/x.js"]).expect("ok");
        assert!(g.partial_match(b"/ws/src"));
        assert!(g.partial_match(b"/ws/src/a"));
        assert!(!g.partial_match(b"/ws/src/a/b"));
        assert!(!g.partial_match(b"/ws/other"));
        let g = glob(&["src/**/x.js"]).expect("ok");
        assert!(g.partial_match(b"/ws/src/a/b/c"));
    }

    #[test]
    fn globstar_needs_a_segment_only_at_the_end() {
        let p = |s: &str| s.split('/').map(Part::parse).collect::<Vec<_>>();
        let f = |s: &'static str| s.split('/').map(str::as_bytes).collect::<Vec<_>>();
        assert!(full_match(&p("a/**/b"), &f("a/b")));
        assert!(!full_match(&p("a/**"), &f("a")));
        assert!(full_match(&p("a/**"), &f("a/x/y")));
        assert!(full_match(&p("**/b/**/c"), &f("b/c")));
        assert!(!full_match(&p("a/*/b"), &f("a/b")));
    }

    #[test]
    fn workspace_places() {
        assert!(place(b"/ws/a", b"/ws") == Place::Inside);
        assert!(place(b"/ws", b"/ws") == Place::Above);
        assert!(place(b"/", b"/ws") == Place::Above);
        assert!(place(b"/wsx", b"/ws") == Place::Outside);
    }
}
