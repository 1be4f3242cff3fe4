//! GitHub's `hashFiles()`, byte for byte, with the file contents hashed in parallel.
//!
//! The reference is what the runner executes: the committed bundle
//! `src/Misc/layoutbin/hashFiles/index.js` of actions/runner (the same from v2.336.0 on), its
//! `hashFiles.ts` compiled together with **@actions/glob 0.4.0** and **minimatch 3.1.2**. The
//! runner's package.json names newer versions, but the bundle is not rebuilt when they change,
//! and minimatch 3 matches differently from minimatch 10 (escapes, classes, UTF-16). That bundle,
//! not a general idea of "glob", is the contract; `tests/hash-files-golden` installs exactly
//! those versions from npm and runs the same logic on them.
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
//! * **Matching** is minimatch 3.1.2 with `dot`, `nobrace`, `noext`, `nocomment`, `nonegate`
//!   ([`minimatch`]): a whole `**` part is a globstar, other parts become JavaScript regexps
//!   over UTF-16 code units ([`js_regex`]). An explicit pattern ending in `**` is tested against
//!   `path + "/"`, so `a/**` also matches `a` (the implicit twins are not). Match kinds are bit
//!   sets (directory, file); the patterns apply in order, a negated one clearing the bits it
//!   matches, so the last matching pattern wins.
//! * **The walk.** Search roots are the literal prefixes of the positive patterns, in pattern
//!   order, a root below another root dropped. Each root is walked depth-first (an explicit stack,
//!   children pushed in reverse), entering every directory that matches or may contain a match.
//!   Children come from Node's `fs.readdir`, which on Unix is libuv's `scandir` sorted with
//!   `strcmp`: names are byte-sorted per directory, then decoded as UTF-8, an invalid sequence
//!   becoming U+FFFD. Node then uses that decoded name, which names no file: such an entry
//!   fails the walk (or, following links, is left out as if it were a broken link), here too.
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
//! **Files that are not files.** The runner opens whatever matched: a FIFO blocks it until its
//! 120-second limit fails the step, a socket fails it at once (`ENXIO`), and a device is read
//! like a file, so a link to `/dev/null` hashes as empty content while `/dev/zero` or a terminal
//! never ends. Here nothing but a regular file is ever read: FIFOs, sockets and devices (direct,
//! or behind a symlink) are skipped and reported in [`HashResult::skipped`], except the null
//! device, which is known to be empty without opening it and so counts as the runner counts it.
//! Files are opened with `O_NONBLOCK` and, when the reads do not look like a regular file's,
//! checked with `fstat`, so a FIFO put in a file's place after the walk is skipped too instead
//! of blocking. This changes no hash the runner can
//! compute, apart from a device other than the null device that the runner manages to read to
//! its end (a block device, say) within its time limit.
//!
//! Invariants: the walk is sequential and ordered; only the hashing of the collected list runs in
//! parallel and its results are combined in list order, so threads never change the hash. The
//! first error in walk order is the one reported, as the runner stops at it.
//!
//! Known, deliberate differences (none change a hash that GitHub computes successfully on Linux):
//! subtrees outside the workspace are not walked (GitHub walks them and ignores their files, but
//! could fail on an unreadable directory there); a directory cycle is detected by device and
//! inode instead of `realpath`.

mod js_regex;
mod minimatch;

use std::collections::HashSet;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::Context;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::UsageError;
use minimatch::Minimatch;

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
    /// Matched entries that were not read (FIFOs, sockets, devices), in walk order.
    pub skipped: Vec<Skipped>,
}

/// A matched entry that is not a file to read.
pub struct Skipped {
    /// The path as the walk built it.
    pub path: String,
    /// What it is, and why it was not read ("a FIFO, not a file (…)").
    pub what: &'static str,
}

/// Makes text from the workspace (file names) safe to print on one log line, as every printed
/// string is ([`crate::output::escape_bytes`]): a file name cannot end a line, fake another
/// one, or recolour the terminal.
pub fn escape_for_log(text: &[u8]) -> String {
    crate::output::escape_bytes(text)
}

/// [`escape_for_log`] for a string.
fn esc(text: &str) -> String {
    escape_for_log(text.as_bytes())
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
    let workspace = fs::canonicalize(workspace).with_context(|| {
        format!(
            "cannot resolve the workspace {}",
            escape_for_log(workspace.as_os_str().as_bytes())
        )
    })?;
    let workspace = workspace.to_str().ok_or_else(|| {
        UsageError::new(format!(
            "the workspace path {} is not UTF-8, which hashFiles() patterns cannot express",
            escape_for_log(workspace.as_os_str().as_bytes())
        ))
    })?;
    let home = crate::config::home();
    let glob = Glob::parse(patterns, workspace, home.as_deref())?;
    let candidates = Walker::new(&glob, workspace, options.follow_symbolic_links).run()?;

    let digests: Vec<anyhow::Result<Digested>> = candidates
        .par_iter()
        .map_init(|| vec![0u8; 256 * 1024], |buf, c| digest(c, buf))
        .collect();
    let mut total = Sha256::new();
    let mut files = 0;
    let mut skipped = Vec::new();
    for (candidate, digest) in candidates.iter().zip(digests) {
        match digest? {
            Digested::File(d) => {
                total.update(d);
                files += 1;
            }
            Digested::Directory => {}
            Digested::Skipped(what) => skipped.push(Skipped {
                path: candidate.path.clone(),
                what,
            }),
        }
    }
    let hash = if files == 0 {
        String::new()
    } else {
        crate::keys::hex(&total.finalize())
    };
    Ok(HashResult {
        hash,
        files,
        skipped,
    })
}

// ---------------------------------------------------------------------------------------------
// Hashing one matched entry

/// A path the walk yielded as a file (by `lstat` or, when following links, by `stat`).
#[derive(Debug)]
struct Candidate {
    path: String,
    kind: Kind,
}

/// What the walk saw of a candidate.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Regular,
    /// A symlink, not followed: its target may be a directory (skipped), missing (an error), a
    /// file or something else, which only a `stat` tells.
    Link,
    /// A FIFO, socket or device, with what `stat` said of it.
    Special(Special),
}

#[derive(Debug, Clone, Copy)]
enum Special {
    Fifo,
    Socket,
    NullDevice,
    CharDevice,
    BlockDevice,
}

impl Special {
    /// The kind of a non-directory, non-regular, non-symlink entry.
    fn of(meta: &Metadata) -> Self {
        let t = meta.file_type();
        if t.is_fifo() {
            Self::Fifo
        } else if t.is_socket() {
            Self::Socket
        } else if t.is_char_device() && is_null_device(meta.rdev()) {
            Self::NullDevice
        } else if t.is_char_device() {
            Self::CharDevice
        } else {
            Self::BlockDevice
        }
    }

    /// What it is, and why it is not read, for the warning.
    fn describe(self) -> &'static str {
        match self {
            Self::Fifo => "a FIFO, not a file (GitHub's runner would wait on it until its time limit fails the step)",
            Self::Socket => "a socket, not a file (GitHub's runner fails on it)",
            Self::NullDevice | Self::CharDevice => "a character device, not a file (its contents may never end)",
            Self::BlockDevice => "a block device, not a file",
        }
    }
}

/// Linux's null device is character device 1:3 (glibc's `dev_t` encoding of major and minor).
fn is_null_device(rdev: u64) -> bool {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    major == 1 && minor == 3
}

/// What hashing a candidate gave.
enum Digested {
    File([u8; 32]),
    /// A symlink to a directory, or a directory put in a file's place: hashFiles skips it.
    Directory,
    /// Not read; the reason for the warning.
    Skipped(&'static str),
}

/// SHA-256 of the empty content, what the runner gets from reading the null device.
fn empty_digest() -> [u8; 32] {
    Sha256::digest([]).into()
}

fn digest(c: &Candidate, buf: &mut [u8]) -> anyhow::Result<Digested> {
    let path = Path::new(&c.path);
    let special = match c.kind {
        Kind::Regular => None,
        Kind::Special(s) => Some(s),
        Kind::Link => {
            // hashFiles `stat`s what the walk yielded: that follows the link.
            let meta = match fs::metadata(path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => anyhow::bail!(
                    "{}: broken symbolic link matched (its target does not exist); GitHub's hashFiles() fails on it too",
                    esc(&c.path)
                ),
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot stat {}", esc(&c.path)))
                }
            };
            if meta.is_dir() {
                return Ok(Digested::Directory);
            }
            (!meta.is_file()).then(|| Special::of(&meta))
        }
    };
    match special {
        None => hash_regular(c, buf),
        Some(Special::NullDevice) => Ok(Digested::File(empty_digest())),
        Some(s) => Ok(Digested::Skipped(s.describe())),
    }
}

/// Reads a file the walk saw as regular (or a link to one). `O_NONBLOCK` makes opening a FIFO
/// that replaced it return at once, and reading it never waits; `fstat` then tells what was
/// really opened.
fn hash_regular(c: &Candidate, buf: &mut [u8]) -> anyhow::Result<Digested> {
    let opened = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&c.path);
    let mut file = match opened {
        Ok(f) => f,
        // A socket cannot be opened: one swapped in after the walk is skipped like the others.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            if let Ok(meta) = fs::metadata(&c.path) {
                if meta.file_type().is_socket() {
                    return Ok(Digested::Skipped(Special::Socket.describe()));
                }
            }
            return Err(e).with_context(|| format!("cannot open {}", esc(&c.path)));
        }
        Err(e) if matches!(c.kind, Kind::Link) && e.kind() == io::ErrorKind::NotFound => {
            anyhow::bail!(
                "{}: broken symbolic link matched (its target does not exist); GitHub's hashFiles() fails on it too",
                esc(&c.path)
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", esc(&c.path))),
    };
    // What was really opened, when it is not a regular file (one `fstat`).
    let not_regular = |file: &File| -> anyhow::Result<Option<Digested>> {
        let meta = file
            .metadata()
            .with_context(|| format!("cannot stat {}", esc(&c.path)))?;
        Ok(if meta.is_dir() {
            Some(Digested::Directory)
        } else if meta.is_file() {
            None
        } else {
            Some(match Special::of(&meta) {
                Special::NullDevice => Digested::File(empty_digest()),
                s => Digested::Skipped(s.describe()),
            })
        })
    };
    // The walk already saw a regular file, so the `fstat` is put off until the reads look
    // like something else: nothing at all (an empty file, or a FIFO without a writer), an
    // error (`EAGAIN` from a FIFO, `EISDIR`), or more than one buffer (an endless device). A
    // file read whole in one buffer, which is most of them, costs no extra system call. The
    // one thing this lets through is a FIFO swapped in whose writer wrote less than a buffer
    // and closed it: the runner would read those same bytes.
    let mut hasher = Sha256::new();
    let mut reads = 0;
    let mut checked = false;
    loop {
        match file.read(buf) {
            Ok(0) => {
                if reads == 0 {
                    if let Some(d) = not_regular(&file)? {
                        return Ok(d);
                    }
                }
                break;
            }
            Ok(n) => {
                reads += 1;
                if reads == 2 && !checked {
                    checked = true;
                    if let Some(d) = not_regular(&file)? {
                        return Ok(d);
                    }
                }
                hasher.update(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                if !checked {
                    if let Some(d) = not_regular(&file)? {
                        return Ok(d);
                    }
                }
                return Err(e).with_context(|| format!("cannot read {}", esc(&c.path)));
            }
        }
    }
    Ok(Digested::File(hasher.finalize().into()))
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
    search_paths: Vec<String>,
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
    search_path: String,
    minimatch: Minimatch,
}

impl Glob {
    /// Splits the arguments into lines and parses each one, as `DefaultGlobber.create` does.
    fn parse(args: &[String], cwd: &str, home: Option<&Path>) -> anyhow::Result<Self> {
        let joined = args.join("\n");
        let mut patterns = Vec::new();
        for line in joined.split('\n').map(js_trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, text) = parse_negation(line);
            let fixed = fixup_pattern(line, text, cwd, home)?;
            let pattern = Pattern::new(negate, &fixed, false);
            // The implicit twin (DefaultGlobber.globGenerator): segments + `**`, rebuilt as a
            // path, trimmed and fixed up again (the segments overload of the constructor). That
            // second check fails `[.]`, whose literal `.` is no longer the first segment.
            if pattern.trailing_separator || !pattern.ends_with_globstar {
                let mut segments = path_segments(&fixed);
                segments.push("**".to_string());
                let twin = fixup_pattern(line, js_trim(&join_segments(&segments)), cwd, home)?;
                patterns.push(pattern);
                patterns.push(Pattern::new(negate, &twin, true));
            } else {
                patterns.push(pattern);
            }
        }
        let search_paths = search_paths(&patterns);
        Ok(Self {
            patterns,
            search_paths,
        })
    }

    /// `patternHelper.match`: apply the patterns in order, negations clearing bits.
    fn match_kind(&self, path: &str) -> u8 {
        // Split once for all patterns: `path` as it is, and `path + "/"`, which only adds a
        // last empty part.
        let mut parts: Vec<&str> = minimatch::split_slashes(path).collect();
        let plain = parts.len();
        if !path.ends_with('/') {
            parts.push("");
        }
        let mut result = 0;
        for p in &self.patterns {
            let with_slash = p.ends_with_globstar && !p.implicit;
            let kind = p.match_kind(if with_slash { &parts } else { &parts[..plain] });
            if p.negate {
                result &= !kind;
            } else {
                result |= kind;
            }
        }
        result
    }

    /// `patternHelper.partialMatch`: could something below `path` match a positive pattern?
    fn partial_match(&self, path: &str) -> bool {
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
            "invalid pattern '{}': nothing left after '!' (GitHub's hashFiles() rejects an empty pattern)",
            esc(line)
        ))
        .into());
    }
    let literal_segments = path_segments(pattern).into_iter().map(get_literal);
    for (i, seg) in literal_segments.enumerate() {
        if (seg == "." && i > 0) || seg == ".." {
            return Err(UsageError::new(format!(
                "invalid pattern '{}': a '.' or '..' segment is not allowed (only a leading './'), as in GitHub's hashFiles()",
                esc(line)
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
                "invalid pattern '{}': cannot expand '~', HOME is not set",
                esc(line)
            ))
        })?;
        let home = home
            .to_str()
            .filter(|h| h.starts_with('/'))
            .ok_or_else(|| {
                UsageError::new(format!(
                    "invalid pattern '{}': HOME ({}) must be an absolute UTF-8 path to expand '~'",
                    esc(line),
                    escape_for_log(home.as_os_str().as_bytes())
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
        let mut search = Vec::new();
        for seg in &segments {
            let lit = get_literal(seg);
            if lit.is_empty() {
                break;
            }
            search.push(lit);
        }
        let ends_with_globstar = segments.last().is_some_and(|s| s == "**");
        Self {
            negate,
            trailing_separator,
            ends_with_globstar,
            implicit,
            search_path: join_segments(&search),
            minimatch: Minimatch::new(&safe_trim_trailing_separator(fixed)),
        }
    }

    /// `Pattern.match`, on the path split into parts: with a last empty part (`path + "/"`)
    /// for an explicit pattern ending in `**`, without for the others.
    fn match_kind(&self, parts: &[&str]) -> u8 {
        match (
            self.minimatch.match_one(parts, false),
            self.trailing_separator,
        ) {
            (false, _) => 0,
            (true, true) => MATCH_DIR,
            (true, false) => MATCH_ALL,
        }
    }

    /// `Pattern.partialMatch`.
    fn partial_match(&self, path: &str) -> bool {
        if path == "/" {
            // The root regexp of an absolute pattern is `/`.
            return true;
        }
        let file: Vec<&str> = minimatch::split_slashes(path).collect();
        self.minimatch.match_one(&file, true)
    }
}

/// `getSearchPaths`: positive patterns' search paths in order, minus duplicates and paths below
/// another candidate.
fn search_paths(patterns: &[Pattern]) -> Vec<String> {
    let positive: Vec<&Pattern> = patterns.iter().filter(|p| !p.negate).collect();
    let candidates: HashSet<&str> = positive.iter().map(|p| p.search_path.as_str()).collect();
    let mut included: HashSet<&str> = HashSet::new();
    let mut result = Vec::new();
    for p in positive {
        let key = p.search_path.as_str();
        if included.contains(key) {
            continue;
        }
        let has_ancestor = Path::new(key)
            .ancestors()
            .skip(1)
            .filter_map(Path::to_str)
            .any(|a| candidates.contains(a));
        if !has_ancestor {
            result.push(key.to_string());
            included.insert(key);
        }
    }
    result
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

/// `Pattern.getLiteral`: the unescaped text of a part, or `""` if it has a glob. JavaScript
/// indexes strings by UTF-16 code unit, so `[😀]` (two units in the brackets) is a glob.
fn get_literal(segment: impl AsRef<str>) -> String {
    let s: Vec<u16> = segment.as_ref().encode_utf16().collect();
    let is = |u: u16, c: char| u == c as u16;
    let mut literal: Vec<u16> = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if is(c, '\\') && i + 1 < s.len() {
            literal.push(s[i + 1]);
            i += 2;
            continue;
        }
        if is(c, '*') || is(c, '?') {
            return String::new();
        }
        if is(c, '[') && i + 1 < s.len() {
            let mut set: Vec<u16> = Vec::new();
            let mut closed = None;
            let mut i2 = i + 1;
            while i2 < s.len() {
                let c2 = s[i2];
                if is(c2, '\\') && i2 + 1 < s.len() {
                    i2 += 1;
                    set.push(s[i2]);
                } else if is(c2, ']') {
                    closed = Some(i2);
                    break;
                } else {
                    set.push(c2);
                }
                i2 += 1;
            }
            if let Some(closed) = closed {
                if set.len() > 1 {
                    return String::new();
                }
                if !set.is_empty() {
                    literal.extend_from_slice(&set);
                    i = closed + 1;
                    continue;
                }
            }
        }
        literal.push(c);
        i += 1;
    }
    String::from_utf16_lossy(&literal)
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

// ---------------------------------------------------------------------------------------------
// The walk (DefaultGlobber.globGenerator)

/// Where a path stands relative to the workspace (a textual check, like hashFiles').
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Place {
    /// Strictly inside: its files count.
    Inside,
    /// The workspace or one of its ancestors: only the way down to the workspace matters.
    Above,
    /// Elsewhere: nothing below can count, so it is not walked.
    Outside,
}

fn place(path: &str, workspace: &str) -> Place {
    // `file.startsWith(workspace + "/")`, so a workspace of `/` holds nothing that counts.
    let below =
        |a: &str, b: &str| a.len() > b.len() && a.starts_with(b) && a.as_bytes()[b.len()] == b'/';
    if below(path, workspace) {
        Place::Inside
    } else if path == workspace || path == "/" || below(workspace, path) {
        Place::Above
    } else {
        Place::Outside
    }
}

struct Walker<'a> {
    glob: &'a Glob,
    workspace: &'a str,
    follow: bool,
    /// (device, inode) of the directories on the current path, by level (cycle detection).
    chain: Vec<(u64, u64)>,
    out: Vec<Candidate>,
}

/// One stack entry: a path, its depth below its search root (1 for the root), and the type
/// `readdir` reported when it can be trusted (saves an `lstat`).
struct Item {
    path: String,
    level: usize,
    file_type: Option<fs::FileType>,
    /// The name was not UTF-8: `path` holds Node's decoding of it, which names no file.
    decoded: bool,
}

/// What `DefaultGlobber.stat` made of an item.
enum Stat {
    Directory,
    NotDirectory(Kind),
}

impl<'a> Walker<'a> {
    fn new(glob: &'a Glob, workspace: &'a str, follow: bool) -> Self {
        Self {
            glob,
            workspace,
            follow,
            chain: Vec::new(),
            out: Vec::new(),
        }
    }

    fn run(mut self) -> anyhow::Result<Vec<Candidate>> {
        let mut stack: Vec<Item> = Vec::new();
        for root in &self.glob.search_paths {
            if place(root, self.workspace) == Place::Outside {
                continue;
            }
            match fs::symlink_metadata(root) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot stat {}", esc(root))),
            }
            // `stack.unshift`: the first root ends up on top.
            stack.insert(
                0,
                Item {
                    path: root.clone(),
                    level: 1,
                    file_type: None,
                    decoded: false,
                },
            );
        }
        while let Some(item) = stack.pop() {
            self.visit(item, &mut stack)?;
        }
        Ok(self.out)
    }

    fn visit(&mut self, item: Item, stack: &mut Vec<Item>) -> anyhow::Result<()> {
        let place = place(&item.path, self.workspace);
        if place == Place::Outside {
            return Ok(());
        }
        let kind = self.glob.match_kind(&item.path);
        if kind == 0 && !self.glob.partial_match(&item.path) {
            return Ok(());
        }
        let Some(stat) = self.stat(&item)? else {
            return Ok(());
        };
        match stat {
            Stat::Directory => {
                // A matched directory is yielded, and hashFiles skips it; either way, descend.
                if place == Place::Above && item.path != self.workspace {
                    // Only the way down to the workspace can lead to files that count.
                    let depth = Path::new(&item.path).components().count();
                    let next: std::path::PathBuf = Path::new(self.workspace)
                        .components()
                        .take(depth + 1)
                        .collect();
                    stack.push(Item {
                        path: next.to_str().expect("a prefix of a UTF-8 path").to_string(),
                        level: item.level + 1,
                        file_type: None,
                        decoded: false,
                    });
                    return Ok(());
                }
                let mut children: Vec<(Vec<u8>, Option<fs::FileType>)> = Vec::new();
                let entries = fs::read_dir(&item.path)
                    .with_context(|| format!("cannot read directory {}", esc(&item.path)))?;
                for entry in entries {
                    let entry = entry
                        .with_context(|| format!("cannot read directory {}", esc(&item.path)))?;
                    children.push((
                        entry.file_name().as_bytes().to_vec(),
                        entry.file_type().ok(),
                    ));
                }
                // libuv's scandir sorts with strcmp: plain bytes, before any decoding.
                children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                let sep = if item.path.ends_with('/') { "" } else { "/" };
                for (name, file_type) in children.into_iter().rev() {
                    let (name, decoded) = match String::from_utf8(name) {
                        Ok(name) => (name, false),
                        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
                    };
                    stack.push(Item {
                        path: format!("{}{sep}{name}", item.path),
                        level: item.level + 1,
                        file_type: if decoded { None } else { file_type },
                        decoded,
                    });
                }
            }
            Stat::NotDirectory(file_kind) => {
                if kind & MATCH_FILE != 0 && place == Place::Inside {
                    self.out.push(Candidate {
                        path: item.path,
                        kind: file_kind,
                    });
                }
            }
        }
        Ok(())
    }

    /// `DefaultGlobber.stat`, or `None` to skip the item (a broken link or a cycle while
    /// following links).
    fn stat(&mut self, item: &Item) -> anyhow::Result<Option<Stat>> {
        let not_found = |e: io::Error| {
            let what = if item.decoded {
                "; its name is not valid UTF-8, and GitHub's hashFiles() fails on it too (Node reads such names with U+FFFD in them)"
            } else {
                ""
            };
            anyhow::Error::new(e).context(format!("cannot stat {}{what}", esc(&item.path)))
        };
        let kind_of = |t: fs::FileType, path: &str| -> anyhow::Result<Stat> {
            Ok(if t.is_dir() {
                Stat::Directory
            } else if t.is_file() {
                Stat::NotDirectory(Kind::Regular)
            } else if t.is_symlink() {
                Stat::NotDirectory(Kind::Link)
            } else {
                // Devices need their number, which only a full stat gives.
                let meta = fs::symlink_metadata(path)
                    .with_context(|| format!("cannot stat {}", esc(path)))?;
                Stat::NotDirectory(Kind::Special(Special::of(&meta)))
            })
        };
        if !self.follow {
            let file_type = match item.file_type {
                Some(t) => t,
                None => fs::symlink_metadata(&item.path)
                    .map_err(not_found)?
                    .file_type(),
            };
            return kind_of(file_type, &item.path).map(Some);
        }
        // An entry that is not a symlink is its own target: no need to stat it again.
        if let Some(t) = item.file_type.filter(|t| !t.is_symlink() && !t.is_dir()) {
            return kind_of(t, &item.path).map(Some);
        }
        let meta = match fs::metadata(&item.path) {
            Ok(m) => m,
            // omitBrokenSymbolicLinks defaults to true in @actions/glob.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot stat {}", esc(&item.path))),
        };
        if !meta.is_dir() {
            let kind = if meta.is_file() {
                Kind::Regular
            } else {
                Kind::Special(Special::of(&meta))
            };
            return Ok(Some(Stat::NotDirectory(kind)));
        }
        self.chain.truncate(item.level - 1);
        let id = (meta.dev(), meta.ino());
        if self.chain.contains(&id) {
            return Ok(None);
        }
        self.chain.push(id);
        Ok(Some(Stat::Directory))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(lines: &[&str]) -> anyhow::Result<Glob> {
        let args: Vec<String> = lines.iter().map(|s| (*s).to_string()).collect();
        Glob::parse(&args, "/ws", Some(Path::new("/home/u")))
    }

    fn kind(lines: &[&str], path: &str) -> u8 {
        glob(lines).expect("valid patterns").match_kind(path)
    }

    #[test]
    fn literals_and_escapes() {
        assert_eq!(get_literal("a[b]c"), "abc");
        assert_eq!(get_literal("a[bc]"), "");
        assert_eq!(get_literal("a\\*"), "a*");
        assert_eq!(get_literal("[]]"), "[]]");
        assert_eq!(get_literal("[é]"), "é");
        assert_eq!(get_literal("[😀]"), "", "two UTF-16 units in the brackets");
        assert_eq!(get_literal("\\😀"), "😀");
        assert_eq!(glob_escape("/w/a[1]/b*?/c\\"), "/w/a[[]1]/b[*][?]/c\\\\");
        assert_eq!(glob_escape("/w/a[/b]"), "/w/a[/b]");
        assert_eq!(js_trim("\u{FEFF} x \r"), "x");
    }

    #[test]
    fn dot_segments_are_usage_errors() {
        for bad in [
            "a/../b", "..", "a/./b", "!../x", "a/[.]/b", "~/..", "[.]", "!\\.",
        ] {
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
        assert!(glob(&["[.]/**"]).is_ok(), "no twin, so no second check");
        assert!(glob(&["!"])
            .expect_err("empty")
            .downcast_ref::<UsageError>()
            .is_some());
    }

    #[test]
    fn patterns_become_absolute() {
        let g = glob(&["a/*", "./b", "~/c/**", "/abs/d", "# comment", "", "  e  "]).expect("ok");
        assert_eq!(
            g.search_paths,
            ["/ws/a", "/ws/b", "/home/u/c", "/abs/d", "/ws/e"]
        );
        let g = glob(&["a/b/*", "a/*", "a/b/c"]).expect("ok");
        assert_eq!(g.search_paths, ["/ws/a"]);
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
        // minimatch trims the pattern, after the trailing `/` is gone: `a /` is `a`, while
        // its implicit twin keeps the space.
        assert_eq!(kind(&["a /"], "/ws/a"), MATCH_DIR);
        assert_eq!(kind(&["a /"], "/ws/a /f"), MATCH_ALL);
        assert_eq!(kind(&["a /"], "/ws/a/f"), 0);
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
        assert!(g.partial_match("/ws/src"));
        assert!(g.partial_match("/ws/src/a"));
        assert!(!g.partial_match("/ws/src/a/b"));
        assert!(!g.partial_match("/ws/other"));
        let g = glob(&["src/**/x.js"]).expect("ok");
        assert!(g.partial_match("/ws/src/a/b/c"));
    }

    #[test]
    fn workspace_places() {
        assert_eq!(place("/ws/a", "/ws"), Place::Inside);
        assert_eq!(place("/ws", "/ws"), Place::Above);
        assert_eq!(place("/", "/ws"), Place::Above);
        assert_eq!(place("/wsx", "/ws"), Place::Outside);
    }

    #[test]
    fn log_escapes_cannot_forge_lines() {
        assert_eq!(escape_for_log(b"a\nwarning: x"), "a\\nwarning: x");
        assert_eq!(escape_for_log(b"\x1b[31mred\r\t"), "\\x1b[31mred\\r\\t");
        assert_eq!(escape_for_log(b"back\\slash"), "back\\slash");
        assert_eq!(
            escape_for_log("é😀\u{2028}\u{202e}".as_bytes()),
            "é😀\\u{2028}\\u{202e}"
        );
        assert_eq!(escape_for_log(b"\xff\x85"), "\\xff\\x85");
        // A C1 control character (valid UTF-8) reads apart from the invalid byte 0x85.
        assert_eq!(escape_for_log("\u{85}".as_bytes()), "\\u{85}");
    }

    /// Hashes `c` on another thread; fails the test if that blocks.
    fn digest_without_blocking(c: Candidate) -> anyhow::Result<Digested> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            let _ = tx.send(digest(&c, &mut buf));
        });
        rx.recv_timeout(std::time::Duration::from_secs(120))
            .expect("digest returned instead of blocking on a FIFO")
    }

    /// The walk saw a regular file; by the time it is hashed, a FIFO has taken its place
    /// (or a link points at one): opening it must not wait for a writer.
    #[test]
    fn a_fifo_in_a_files_place_is_skipped_not_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("swapped");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(status.success());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).expect("symlink");
        for (path, kind) in [
            (&fifo, Kind::Regular),
            (&link, Kind::Link),
            (&link, Kind::Regular),
        ] {
            let c = Candidate {
                path: path.to_str().expect("utf-8").to_string(),
                kind,
            };
            let got = digest_without_blocking(c).expect("no error");
            assert!(
                matches!(got, Digested::Skipped(what) if what.starts_with("a FIFO")),
                "{}",
                path.display()
            );
        }
        let regular = |p: &Path| Candidate {
            path: p.to_str().expect("utf-8").to_string(),
            kind: Kind::Regular,
        };
        // An endless device in a file's place is noticed at its second buffer.
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
        let got = digest_without_blocking(regular(&zero)).expect("no error");
        assert!(matches!(got, Digested::Skipped(w) if w.starts_with("a character device")));
        // A directory in a file's place is skipped, as hashFiles skips directories.
        let got = digest_without_blocking(regular(dir.path())).expect("no error");
        assert!(matches!(got, Digested::Directory));
        // Files: one buffer, several buffers, none.
        for size in [1, 4096 * 3 + 7, 0] {
            let file = dir.path().join(format!("file-{size}"));
            let content = vec![b'x'; size];
            fs::write(&file, &content).expect("write");
            let want: [u8; 32] = Sha256::digest(&content).into();
            let got = digest_without_blocking(regular(&file));
            assert!(
                matches!(got, Ok(Digested::File(d)) if d == want),
                "{size} bytes"
            );
        }
    }

    #[test]
    fn null_device_numbers() {
        assert!(is_null_device(0x103));
        assert!(!is_null_device(0x105), "/dev/zero");
        assert!(!is_null_device(0x301));
    }
}
