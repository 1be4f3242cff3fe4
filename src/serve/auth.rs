//! Who may delete: the admin token (every repo) and repository tokens, each limited to the
//! repos that its glob matches (`--tokens-file`, lines of `REPO-GLOB TOKEN-SHA256`).
//!
//! Only SHA-256 digests of tokens are kept. A presented token is hashed once and compared with
//! every configured digest, each comparison without an early exit and all of them always made:
//! the time a check takes says nothing about how much of a guess was right, nor about a
//! token's length. Which repos a token covers is decided only after that, from the globs of
//! the lines whose digest it matched.
//!
//! A glob is a repo id in which `*` stands for any run of characters within one `/`-separated
//! segment: `acme/*` covers `acme/app` but neither `acme` nor `acme/app/docs`, nor `acme-corp/x`.
//! Everything else matches exactly, case included, as the store compares repo ids.

use sha2::{Digest as _, Sha256};

use crate::error::UsageError;
use crate::keys;

type Digest = [u8; 32];

fn digest(secret: &str) -> Digest {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether two digests are equal, in time independent of where they differ.
fn same_digest(a: &Digest, b: &Digest) -> bool {
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

/// The admin token: it deletes in every repo.
pub struct AdminToken {
    digest: Digest,
}

impl AdminToken {
    pub fn new(secret: &str) -> Self {
        Self {
            digest: digest(secret),
        }
    }
}

/// A repo id pattern of a tokens file; see the module documentation for the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoGlob(String);

impl RepoGlob {
    /// A glob follows the rules of repo ids (1 to 255 characters, no control characters);
    /// `**` is refused because it would suggest crossing `/`, which `*` never does.
    pub fn parse(raw: &str) -> Result<Self, String> {
        keys::parse_name(raw, "repo glob").map_err(|e| e.0)?;
        if raw.contains("**") {
            return Err(format!(
                "repo glob '{raw}' contains '**': '*' matches within one segment (acme/* is \
                 every repo of acme); use the admin token for every repo"
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `repo` is one of the repos this glob covers.
    pub fn matches(&self, repo: &str) -> bool {
        let mut pattern = self.0.split('/');
        let mut name = repo.split('/');
        loop {
            match (pattern.next(), name.next()) {
                (Some(p), Some(n)) if segment_matches(p, n) => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

/// `*` matches any run of characters (none too); every other character matches itself.
/// The classic greedy match with one backtracking point: linear in practice, quadratic at worst
/// on a 255-character segment.
fn segment_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and where in the text its match currently ends.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more character and try again after it.
            star = Some((sp, st + 1));
            pi = sp + 1;
            ti = st + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// One line of a tokens file: a token (by its digest) that may delete in the repos of `glob`.
pub struct RepoToken {
    pub glob: RepoGlob,
    digest: Digest,
}

/// Parses a tokens file: lines of `REPO-GLOB TOKEN-SHA256` (the lowercase hex SHA-256 of the
/// token, as `sha256sum` prints it), blank lines and `#` comments (a whole line, or after the
/// two fields). `source` names the file in errors, which also give the line number and the rule.
pub fn parse_tokens_file(bytes: &[u8], source: &str) -> Result<Vec<RepoToken>, UsageError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = text_lines(&bytes[..e.valid_up_to()]) + 1;
        UsageError::new(format!("{source} line {line}: the file is not UTF-8 text"))
    })?;
    let mut tokens = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line
            .split_whitespace()
            .take_while(|f| !f.starts_with('#'))
            .collect();
        let bad = |rule: String| UsageError::new(format!("{source} line {}: {rule}", number + 1));
        match fields[..] {
            [] => {}
            [glob, hex] => tokens.push(RepoToken {
                glob: RepoGlob::parse(glob).map_err(bad)?,
                digest: parse_digest(hex).map_err(bad)?,
            }),
            [one] => {
                return Err(bad(format!(
                    "'{one}' is one field: a line is REPO-GLOB TOKEN-SHA256, e.g. \
                     acme/* followed by the output of printf %s TOKEN | sha256sum"
                )))
            }
            _ => {
                return Err(bad(format!(
                "{} fields: a line is REPO-GLOB TOKEN-SHA256 (two fields; '#' starts a comment)",
                fields.len()
            )))
            }
        }
    }
    Ok(tokens)
}

/// How many lines end in `bytes`.
fn text_lines(bytes: &[u8]) -> usize {
    bytes.split(|&b| b == b'\n').count() - 1
}

fn parse_digest(hex: &str) -> Result<Digest, String> {
    let rule = "a token's SHA-256 is 64 lowercase hex digits (printf %s TOKEN | sha256sum); \
                the file holds digests, never the tokens themselves";
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let shown: String = hex.chars().take(70).collect();
    if hex.len() != 64 {
        return Err(format!(
            "'{shown}' has {} characters: {rule}",
            hex.chars().count()
        ));
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => out[i] = hi << 4 | lo,
            _ => return Err(format!("'{shown}' is not lowercase hex: {rule}")),
        }
    }
    Ok(out)
}

/// Every token this server knows.
pub struct Tokens {
    admin: Option<AdminToken>,
    repos: Vec<RepoToken>,
}

/// What a valid token may do: every repo (the admin token), or the repos of these globs.
pub struct Grant<'a> {
    admin: bool,
    globs: Vec<&'a RepoGlob>,
}

/// Why a request may not change anything.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// The server has no token at all: nothing can be deleted (403).
    Disabled,
    /// No `Authorization: Bearer …` header (401).
    Missing,
    /// A token that is none of the configured ones (403).
    Wrong,
    /// A repository token used on a repo its globs do not cover (403).
    OtherRepo(String),
}

impl Denied {
    /// A stable name for the page's script, which forgets a wrong token but keeps one that
    /// is only not meant for this repo.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Missing => "missing",
            Self::Wrong => "wrong",
            Self::OtherRepo(_) => "other-repo",
        }
    }
}

impl Tokens {
    pub fn new(admin: Option<AdminToken>, repos: Vec<RepoToken>) -> Self {
        Self { admin, repos }
    }

    /// Whether any token can delete anything (else the page says deleting is turned off).
    pub fn any(&self) -> bool {
        self.admin.is_some() || !self.repos.is_empty()
    }

    /// Checks an `Authorization` header value: which repos its bearer token may delete in.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Grant<'_>, Denied> {
        if !self.any() {
            return Err(Denied::Disabled);
        }
        let token = header
            .map(str::trim)
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(Denied::Missing)?;
        let given = digest(token);
        // Every comparison is made, whatever the earlier ones found.
        let admin = self
            .admin
            .as_ref()
            .is_some_and(|a| same_digest(&a.digest, &given));
        let mut globs = Vec::new();
        for line in &self.repos {
            if same_digest(&line.digest, &given) {
                globs.push(&line.glob);
            }
        }
        if admin || !globs.is_empty() {
            Ok(Grant { admin, globs })
        } else {
            Err(Denied::Wrong)
        }
    }
}

impl Grant<'_> {
    /// Whether the token may delete the caches of `repo`.
    pub fn allows(&self, repo: &str) -> Result<(), Denied> {
        if self.admin || self.globs.iter().any(|g| g.matches(repo)) {
            Ok(())
        } else {
            Err(Denied::OtherRepo(repo.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(secret: &str) -> String {
        keys::hex(&digest(secret))
    }

    #[test]
    fn bearer_tokens() {
        let t = Tokens::new(Some(AdminToken::new("s3cret")), Vec::new());
        let check = |h: Option<&str>| t.authenticate(h).map(|g| g.admin);
        assert_eq!(check(Some("Bearer s3cret")), Ok(true));
        assert_eq!(check(Some("bearer  s3cret ")), Ok(true));
        assert_eq!(check(Some("Bearer s3cre")).err(), Some(Denied::Wrong));
        assert_eq!(check(Some("Bearer s3cret2")).err(), Some(Denied::Wrong));
        assert_eq!(check(Some("Basic s3cret")).err(), Some(Denied::Missing));
        assert_eq!(check(Some("Bearer ")).err(), Some(Denied::Missing));
        assert_eq!(check(None).err(), Some(Denied::Missing));
        let none = Tokens::new(None, Vec::new());
        assert_eq!(
            none.authenticate(Some("Bearer s3cret")).err(),
            Some(Denied::Disabled)
        );
    }

    #[test]
    fn globs_do_not_cross_slashes() {
        let g = |s: &str| RepoGlob::parse(s).unwrap();
        assert!(g("acme/*").matches("acme/app"));
        assert!(g("acme/*").matches("acme/"));
        assert!(!g("acme/*").matches("acme"));
        assert!(!g("acme/*").matches("acme/app/docs"));
        assert!(!g("acme/*").matches("acme-corp/app"));
        assert!(
            !g("acme/*").matches("ACME/app"),
            "case matters, as in the store"
        );
        assert!(g("*/app").matches("acme/app"));
        assert!(!g("*/app").matches("a/b/app"));
        assert!(g("*").matches("solo"));
        assert!(!g("*").matches("acme/app"));
        assert!(g("acme/web-*").matches("acme/web-ui"));
        assert!(g("acme/web-*").matches("acme/web-"));
        assert!(!g("acme/web-*").matches("acme/api"));
        assert!(g("acme/*-ui").matches("acme/web-ui-ui"));
        assert!(g("acme/a*b*c").matches("acme/aXXbYYbc"));
        assert!(!g("acme/a*b*c").matches("acme/aXXbYYbd"));
        assert!(g("acme/app").matches("acme/app"));
        assert!(!g("acme/app").matches("acme/apps"));
        assert!(g("açme/*").matches("açme/ü"));
        assert!(RepoGlob::parse("acme/**").is_err());
        assert!(RepoGlob::parse("").is_err());
    }

    #[test]
    fn repository_tokens_cover_their_globs_only() {
        let text = format!(
            "# CI bots\n\nacme/* {}\nwidgets/ui {}   # the UI team\n  widgets/api {}\n",
            sha("acme-bot"),
            sha("ui"),
            sha("ui")
        );
        let repos = parse_tokens_file(text.as_bytes(), "--tokens-file t").unwrap();
        assert_eq!(repos.len(), 3);
        let t = Tokens::new(Some(AdminToken::new("admin")), repos);
        let allows = |token: &str, repo: &str| {
            t.authenticate(Some(&format!("Bearer {token}")))
                .and_then(|g| g.allows(repo))
        };
        assert_eq!(allows("acme-bot", "acme/app"), Ok(()));
        assert_eq!(
            allows("acme-bot", "widgets/ui"),
            Err(Denied::OtherRepo("widgets/ui".into()))
        );
        assert_eq!(allows("ui", "widgets/ui"), Ok(()));
        assert_eq!(allows("ui", "widgets/api"), Ok(()), "a token on two lines");
        assert!(allows("ui", "acme/app").is_err());
        assert_eq!(allows("admin", "anything/at-all"), Ok(()));
        assert_eq!(allows("nope", "acme/app"), Err(Denied::Wrong));
        // The digest is the credential's hash, not the credential: presenting it is wrong.
        assert_eq!(allows(&sha("acme-bot"), "acme/app"), Err(Denied::Wrong));
        // Repository tokens alone turn deleting on.
        let only = Tokens::new(None, parse_tokens_file(text.as_bytes(), "t").unwrap());
        assert!(only.any());
        assert!(only.authenticate(Some("Bearer admin")).is_err());
    }

    #[test]
    fn malformed_lines_name_the_file_line_and_rule() {
        let good = sha("x");
        let cases = [
            ("acme/*\n".to_string(), "line 1: 'acme/*' is one field"),
            (format!("# c\nacme/* {good} extra\n"), "line 2: 3 fields"),
            (format!("acme/* {}\n", &good[..63]), "has 63 characters"),
            (format!("\n\nacme/* {}\n", good.to_uppercase()), "line 3: '"),
            (format!("acme/* {}\n", good.to_uppercase()), "lowercase hex"),
            (
                "acme/* s3cret-token\n".to_string(),
                "64 lowercase hex digits",
            ),
            (format!("acme/** {good}\n"), "contains '**'"),
        ];
        for (text, needle) in cases {
            let err = parse_tokens_file(text.as_bytes(), "--tokens-file /etc/t")
                .err()
                .unwrap_or_else(|| panic!("{text:?} is accepted"));
            assert!(err.0.starts_with("--tokens-file /etc/t line "), "{}", err.0);
            assert!(err.0.contains(needle), "{} should say {needle}", err.0);
        }
        let err = parse_tokens_file(b"# ok\n\xff\xfe x\n", "f").err().unwrap();
        assert_eq!(err.0, "f line 2: the file is not UTF-8 text");
        assert!(parse_tokens_file(b"", "f").unwrap().is_empty());
        assert!(parse_tokens_file(b"# only\r\n\r\n", "f")
            .unwrap()
            .is_empty());
    }
}
