//! The `--path` list of an entry: which files a save takes and where a restore may write.
//!
//! Each non-`!` line becomes a [`Root`]: a base directory plus either a literal name inside it
//! (`node_modules` → base = workspace, name = `node_modules`) or a glob below it
//! (`packages/*/node_modules` → base = workspace/packages). Archive members are named
//! `<root index>/<path relative to the base>`, so a restore maps each member back under the
//! same root and can check that it stays there: a member may only land where its root's line
//! would have matched. `!` lines exclude files, also inside included directories.
//!
//! A line that names the workspace itself (`.`), or the home directory or an ancestor of
//! either, is its own base with an empty name: its members are named relative to it, so an
//! entry saved with `--path .` in `/a/ws` restores in `/b/work`, as GitHub's does. Such broad
//! lines other than the workspace itself are refused unless asked for
//! ([`CachePaths::broad_lines`]): `--path ~` would archive `~/.ssh`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::error::UsageError;

/// The parsed `--path` list.
#[derive(Debug, Clone)]
pub struct CachePaths {
    pub roots: Vec<Root>,
    excludes: GlobSet,
    /// Directories a save never archives and a restore never writes (the store's own).
    pub protected: Vec<PathBuf>,
    /// For each root, the protected directories relative to its base (lexically and through
    /// the base's real path), so a restore can refuse a member below one without a syscall.
    protected_below: Vec<Vec<PathBuf>>,
}

#[derive(Debug, Clone)]
pub struct Root {
    /// The line as the user wrote it (for messages).
    pub spec: String,
    /// The directory member paths are relative to.
    pub base: PathBuf,
    pub kind: RootKind,
}

#[derive(Debug, Clone)]
pub enum RootKind {
    /// A file, directory or symlink: `base/name`; an empty name is `base` itself (a line
    /// naming the workspace, or the home directory or an ancestor of either).
    Literal { name: Vec<u8> },
    /// A glob relative to `base`; `depth` is its component count when it has no `**`.
    Glob {
        matcher: GlobMatcher,
        depth: Option<usize>,
    },
}

impl Root {
    /// The absolute path a literal root names (`None` for a glob).
    pub fn literal_path(&self) -> Option<PathBuf> {
        match &self.kind {
            RootKind::Literal { name } if name.is_empty() => Some(self.base.clone()),
            RootKind::Literal { name } => Some(self.base.join(OsStr::from_bytes(name))),
            RootKind::Glob { .. } => None,
        }
    }

    /// Whether a member at `rel` (relative to `base`, already free of `.`/`..`) belongs to
    /// this root: under the literal name, or under something the glob matches.
    pub fn allows(&self, rel: &Path) -> bool {
        match &self.kind {
            RootKind::Literal { name } => rel
                .components()
                .next()
                .is_some_and(|c| name.is_empty() || c.as_os_str().as_bytes() == name.as_slice()),
            RootKind::Glob { matcher, depth } => {
                let mut prefix = PathBuf::new();
                for (i, c) in rel.components().enumerate() {
                    if depth.is_some_and(|d| i >= d) {
                        break;
                    }
                    prefix.push(c);
                    if matcher.is_match(&prefix) {
                        return true;
                    }
                }
                false
            }
        }
    }
}

impl CachePaths {
    /// Parses the lines against a workspace and home directory.
    pub fn parse(
        lines: &[String],
        workspace: &Path,
        home: Option<&Path>,
    ) -> Result<Self, UsageError> {
        let mut roots = Vec::new();
        let mut excludes = GlobSetBuilder::new();
        for line in lines {
            if let Some(pattern) = line.strip_prefix('!') {
                let (abs, literal) = absolute(pattern.trim(), workspace, home, line)?;
                // The workspace or home part is a path, not a pattern: `[` in it is literal.
                let comps: Vec<Component> = Path::new(&abs).components().collect();
                let head: PathBuf = comps[..literal].iter().collect();
                let tail: PathBuf = comps[literal..].iter().collect();
                let head = globset::escape(&head.to_string_lossy());
                let pattern = if tail.as_os_str().is_empty() {
                    head
                } else {
                    format!("{}/{}", head.trim_end_matches('/'), tail.to_string_lossy())
                };
                excludes.add(glob(&pattern, line)?);
                continue;
            }
            let (abs, literal) = absolute(line, workspace, home, line)?;
            let abs = Path::new(&abs);
            let broad = abs == normalize(workspace)
                || workspace.starts_with(abs)
                || home.is_some_and(|h| normalize(h).starts_with(abs));
            // The file system root stays an error (below), whatever is allowed.
            let root = if broad && abs.parent().is_some() && !has_glob_meta(line.as_bytes()) {
                Root {
                    spec: line.clone(),
                    base: abs.to_path_buf(),
                    kind: RootKind::Literal { name: Vec::new() },
                }
            } else {
                root_for(line, abs, literal)?
            };
            roots.push(root);
        }
        if roots.is_empty() {
            return Err(UsageError::new(
                "--path lists only exclusions: give at least one path to cache, e.g. --path node_modules",
            ));
        }
        let excludes = excludes
            .build()
            .map_err(|e| UsageError::new(format!("--path exclusions do not compile: {e}")))?;
        Ok(Self {
            roots,
            excludes,
            protected: Vec::new(),
            protected_below: Vec::new(),
        })
    }

    /// The lines that name the home directory, an ancestor of it, or an ancestor of the
    /// workspace (not the workspace itself): each would archive far more than a dependency
    /// cache, `~/.ssh` included.
    pub fn broad_lines(&self, workspace: &Path) -> Vec<&str> {
        let ws = normalize(workspace);
        self.roots
            .iter()
            .filter(|r| matches!(&r.kind, RootKind::Literal { name } if name.is_empty()))
            .filter(|r| r.base != ws)
            .map(|r| r.spec.as_str())
            .collect()
    }

    /// Records the directories no save archives and no restore writes (absolute, normalized).
    pub fn protect(&mut self, dirs: Vec<PathBuf>) {
        self.protected_below = self
            .roots
            .iter()
            .map(|root| {
                let mut bases = vec![root.base.clone()];
                if let Ok(real) = root.base.canonicalize() {
                    bases.push(real);
                }
                let mut below = Vec::new();
                for dir in &dirs {
                    for base in &bases {
                        if let Ok(rel) = dir.strip_prefix(base) {
                            below.push(rel.to_path_buf());
                        }
                    }
                }
                below
            })
            .collect();
        self.protected = dirs;
    }

    /// Whether `rel`, a member path below root `index`'s base, lies in a protected directory.
    /// A restore replaces symlinks between the base and a member, so the base's real path plus
    /// `rel` is where the member lands.
    pub fn is_protected(&self, index: usize, rel: &Path) -> bool {
        self.protected_below
            .get(index)
            .is_some_and(|below| below.iter().any(|p| rel.starts_with(p)))
    }

    /// Whether an absolute path is excluded by a `!` line.
    pub fn is_excluded(&self, path: &Path) -> bool {
        !self.excludes.is_empty() && self.excludes.is_match(path)
    }
}

/// `literal` leading components of `abs` come from the workspace or home directory and are
/// never read as glob syntax.
fn root_for(line: &str, abs: &Path, literal: usize) -> Result<Root, UsageError> {
    let comps: Vec<Component> = abs.components().collect();
    let first_glob = comps
        .iter()
        .skip(literal)
        .position(|c| has_glob_meta(c.as_os_str().as_bytes()))
        .map(|i| i + literal);
    match first_glob {
        None => {
            let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
                return Err(UsageError::new(format!(
                    "--path '{line}' names the file system root, which cannot be cached"
                )));
            };
            Ok(Root {
                spec: line.to_string(),
                base: parent.to_path_buf(),
                kind: RootKind::Literal {
                    name: name.as_bytes().to_vec(),
                },
            })
        }
        Some(i) => {
            let base: PathBuf = comps[..i].iter().collect();
            let rest: PathBuf = comps[i..].iter().collect();
            let rest_str = rest.to_str().ok_or_else(|| {
                UsageError::new(format!("--path '{line}': a glob must be valid UTF-8"))
            })?;
            let has_globstar = rest.components().any(|c| c.as_os_str() == "**");
            let matcher = glob(rest_str, line)?.compile_matcher();
            Ok(Root {
                spec: line.to_string(),
                base,
                kind: RootKind::Glob {
                    matcher,
                    depth: (!has_globstar).then(|| rest.components().count()),
                },
            })
        }
    }
}

fn has_glob_meta(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

fn glob(pattern: &str, line: &str) -> Result<Glob, UsageError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| UsageError::new(format!("--path '{line}' is not a valid glob: {e}")))
}

/// Expands `~`, joins relative paths to the workspace and removes `.`/`..` lexically.
/// Returns the path and how many of its leading components came from the workspace or home
/// directory (and so are literal, whatever characters they hold).
fn absolute(
    raw: &str,
    workspace: &Path,
    home: Option<&Path>,
    line: &str,
) -> Result<(String, usize), UsageError> {
    let (expanded, prefix) = if raw == "~" || raw.starts_with("~/") {
        let home = home.ok_or_else(|| {
            UsageError::new(format!("--path '{line}' starts with ~ but HOME is not set"))
        })?;
        (
            home.join(raw.trim_start_matches('~').trim_start_matches('/')),
            normalize(home),
        )
    } else if Path::new(raw).is_absolute() {
        (PathBuf::from(raw), PathBuf::from("/"))
    } else {
        (workspace.join(raw), normalize(workspace))
    };
    let norm = normalize(&expanded);
    let literal = norm
        .components()
        .zip(prefix.components())
        .take_while(|(a, b)| a == b)
        .count();
    let text = norm
        .into_os_string()
        .into_string()
        .map_err(|_| UsageError::new(format!("--path '{line}' is not valid UTF-8")))?;
    Ok((text, literal))
}

/// Lexical normalisation: drops `.`, resolves `..` against the preceding component.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[&str]) -> CachePaths {
        let lines: Vec<String> = lines.iter().map(|s| (*s).to_string()).collect();
        CachePaths::parse(&lines, Path::new("/ws"), Some(Path::new("/home/u"))).unwrap()
    }

    #[test]
    fn literal_roots_split_into_base_and_name() {
        let p = parse(&["node_modules", "~/.npm", "/opt/x/", "../shared/y"]);
        let r: Vec<(PathBuf, Option<PathBuf>)> = p
            .roots
            .iter()
            .map(|r| (r.base.clone(), r.literal_path()))
            .collect();
        assert_eq!(
            r[0],
            (
                PathBuf::from("/ws"),
                Some(PathBuf::from("/ws/node_modules"))
            )
        );
        assert_eq!(
            r[1],
            (
                PathBuf::from("/home/u"),
                Some(PathBuf::from("/home/u/.npm"))
            )
        );
        assert_eq!(r[2], (PathBuf::from("/opt"), Some(PathBuf::from("/opt/x"))));
        assert_eq!(
            r[3],
            (PathBuf::from("/shared"), Some(PathBuf::from("/shared/y")))
        );
    }

    #[test]
    fn members_must_stay_under_their_root() {
        let p = parse(&["node_modules", "packages/*/dist"]);
        assert!(p.roots[0].allows(Path::new("node_modules/a/b.js")));
        assert!(p.roots[0].allows(Path::new("node_modules")));
        assert!(!p.roots[0].allows(Path::new("node_modules2/a")));
        assert!(!p.roots[0].allows(Path::new("src/main.js")));
        assert_eq!(p.roots[1].base, PathBuf::from("/ws/packages"));
        assert!(p.roots[1].allows(Path::new("a/dist/x/y.js")));
        assert!(!p.roots[1].allows(Path::new("a/src/y.js")));
        assert!(!p.roots[1].allows(Path::new("a/b/dist/y.js")));
    }

    #[test]
    fn exclusions_are_absolute_globs() {
        let p = parse(&["node_modules", "!node_modules/.cache", "!**/*.log"]);
        assert!(p.is_excluded(Path::new("/ws/node_modules/.cache")));
        assert!(p.is_excluded(Path::new("/ws/node_modules/x/debug.log")));
        assert!(!p.is_excluded(Path::new("/ws/node_modules/x/index.js")));
    }

    #[test]
    fn glob_characters_in_the_workspace_are_literal() {
        let lines: Vec<String> = ["node_modules", "pkgs/*/dist", "!node_modules/.cache"]
            .map(String::from)
            .to_vec();
        let p = CachePaths::parse(&lines, Path::new("/ci/job[1]/ws"), None).unwrap();
        assert_eq!(
            p.roots[0].literal_path(),
            Some(PathBuf::from("/ci/job[1]/ws/node_modules"))
        );
        assert_eq!(p.roots[1].base, PathBuf::from("/ci/job[1]/ws/pkgs"));
        assert!(p.is_excluded(Path::new("/ci/job[1]/ws/node_modules/.cache")));
        assert!(!p.is_excluded(Path::new("/ci/job1/ws/node_modules/.cache")));
    }

    #[test]
    fn a_line_naming_the_workspace_is_its_own_base() {
        let lines: Vec<String> = [".", "./", "../ws", "~", "..", "~/.npm"]
            .map(String::from)
            .to_vec();
        let p = CachePaths::parse(&lines, Path::new("/w/ws"), Some(Path::new("/home/u"))).unwrap();
        for r in &p.roots[..5] {
            assert!(
                matches!(&r.kind, RootKind::Literal { name } if name.is_empty()),
                "{}",
                r.spec
            );
            assert!(r.allows(Path::new("anything/below")), "{}", r.spec);
        }
        assert_eq!(p.roots[0].base, PathBuf::from("/w/ws"));
        assert_eq!(p.roots[3].base, PathBuf::from("/home/u"));
        assert_eq!(p.roots[4].base, PathBuf::from("/w"));
        assert_eq!(p.broad_lines(Path::new("/w/ws")), ["~", ".."]);
        assert!(!p.roots[5].allows(Path::new("other")));
    }

    #[test]
    fn bad_lines_are_usage_errors() {
        let ws = Path::new("/ws");
        let only_excl = CachePaths::parse(&["!x".to_string()], ws, None).unwrap_err();
        assert!(only_excl.to_string().contains("only exclusions"));
        let root = CachePaths::parse(&["/".to_string()], ws, None).unwrap_err();
        assert!(root.to_string().contains("file system root"));
        let no_home = CachePaths::parse(&["~/.npm".to_string()], ws, None).unwrap_err();
        assert!(no_home.to_string().contains("HOME"));
    }
}
