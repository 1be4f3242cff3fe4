//! The JSON API: the seed's `listCaches`, `getCacheStats`, `deleteCache` and `clearCaches`,
//! plus `/metrics`. Documents come from [`crate::views`], the same builders as `--json`.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/caches?repo=R[&id=N][&key=K][&prefix=P][&contains=T][&scope=S][&sort=…][&limit=N][&offset=N]` | `{"caches": [...], "total"}` |
//! | `GET /api/v1/stats[?repo=R][&since=AGE]` | `{"repos", "total", "top_keys"}` |
//! | `DELETE /api/v1/caches?repo=R&id=N[&key=K][&scope=S][&version=V]` | exactly that entry (the other parameters are checks it must pass), 404 otherwise |
//! | `DELETE /api/v1/caches?repo=R&key=K[&scope=S \| &all_scopes=true][&version=V]` | the key in that scope (none: the unscoped entry; `all_scopes`: every scope), 404 when there is none |
//! | `DELETE /api/v1/caches?repo=R` | `{"deleted": N, …}`: clears the repo |
//! | `GET /metrics` | Prometheus text format |
//!
//! A DELETE answers `{"deleted", "freed_bytes", "keys"}`.

use serde_json::json;

use super::auth::Denied;
use super::{Reply, Settings};
use crate::keys::{self, Key};
use crate::store::tier::Removal;
use crate::store::{Filter, LocalStore, Sort, Tier, Timestamp};
use crate::{clock, units, views};

/// What a handler gets from the request.
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub query: &'a str,
    pub authorization: Option<&'a str>,
}

/// Why a request failed; each becomes `{"error": "..."}` with its status.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Denied(Denied),
    NotFound(String),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("cannot read the cache index"))
    }
}

impl From<crate::error::UsageError> for ApiError {
    fn from(e: crate::error::UsageError) -> Self {
        Self::BadRequest(e.0)
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Denied(Denied::Missing) => 401,
            Self::Denied(_) => 403,
            Self::NotFound(_) => 404,
            Self::Internal(_) => 500,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::BadRequest(m) | Self::NotFound(m) => m.clone(),
            Self::Denied(Denied::Disabled) => "deleting is turned off: this server was started \
                without an admin token (--admin-token-file or WIT_CACHE_ADMIN_TOKEN) and without \
                --tokens-file"
                .into(),
            Self::Denied(Denied::Missing) => {
                "deleting needs the admin token: send Authorization: Bearer <token>".into()
            }
            Self::Denied(Denied::Wrong) => "the admin token is wrong".into(),
            Self::Denied(Denied::OtherRepo(repo)) => format!(
                "this token may not delete caches of repo '{repo}': it is a repository token \
                 for other repos (--tokens-file)"
            ),
            Self::Internal(e) => format!("{e:#}"),
        }
    }

    fn into_reply(self) -> Reply {
        let doc = match &self {
            // Which refusal it is, for the page's script (see `Denied::code`).
            Self::Denied(denied) => json!({ "error": self.message(), "denied": denied.code() }),
            _ => json!({ "error": self.message() }),
        };
        let mut reply = Reply::json(self.status(), &doc);
        if matches!(self, Self::Denied(Denied::Missing)) {
            reply = reply.with_header("WWW-Authenticate", "Bearer realm=\"wit-cache\"");
        }
        reply
    }
}

fn answer(result: Result<Reply, ApiError>) -> Reply {
    result.unwrap_or_else(ApiError::into_reply)
}

/// The query string's parameters, each at most once and only the ones a route knows.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if !allowed.contains(&name.as_ref()) {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter '{name}' (this request takes {})",
                    allowed.join(", ")
                )));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::BadRequest(format!(
                    "parameter '{name}' is given more than once"
                )));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A validated repo id, if given.
    pub fn repo(&self) -> Result<Option<String>, ApiError> {
        self.get("repo")
            .map(|r| keys::parse_name(r, "parameter 'repo'"))
            .transpose()
            .map_err(ApiError::from)
    }

    pub fn required_repo(&self) -> Result<String, ApiError> {
        self.repo()?.ok_or_else(|| {
            ApiError::BadRequest("missing parameter 'repo' (the repository, e.g. acme/app)".into())
        })
    }

    fn key(&self, name: &str) -> Result<Option<Key>, ApiError> {
        self.get(name)
            .map(|k| Key::parse(k, &format!("parameter '{name}'")))
            .transpose()
            .map_err(ApiError::from)
    }
}

/// The largest `limit`: SQLite's LIMIT is a signed 64-bit integer.
const MAX_LIMIT: u64 = i64::MAX as u64;

/// `limit`: a whole number from 0 to [`MAX_LIMIT`]; anything else (negative, a fraction, too
/// big for SQLite) is the client's mistake, not an index error.
fn parse_limit(raw: &str) -> Result<u64, ApiError> {
    parse_count(raw, "limit")
}

/// `limit` and `offset`: whole numbers from 0 to [`MAX_LIMIT`].
fn parse_count(raw: &str, name: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_LIMIT)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "parameter '{name}' is '{raw}': use a whole number from 0 to {MAX_LIMIT}"
            ))
        })
}

/// `id`: an entry's id as `list` shows it, a whole number from 1.
fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "parameter 'id' is '{raw}': use an entry's id as list shows it, a whole number \
             from 1 to {}",
            i64::MAX
        ))
    })
}

/// `sort`: the orders of `list --sort`, and the most restored first.
pub fn parse_sort(raw: Option<&str>) -> Result<Sort, ApiError> {
    match raw {
        None | Some("last-used") => Ok(Sort::LastUsed),
        Some("created") => Ok(Sort::Created),
        Some("size") => Ok(Sort::Size),
        Some("hits") => Ok(Sort::Hits),
        Some(other) => Err(ApiError::BadRequest(format!(
            "parameter 'sort' is '{other}': use created, last-used, size or hits"
        ))),
    }
}

/// A scope named by a request: 1 to 255 characters, no control characters. An empty one is
/// refused rather than read as "no scope": leaving the parameter out says that.
fn parse_scope(raw: &str) -> Result<String, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::BadRequest(
            "parameter 'scope' is empty: name a scope, or leave the parameter out".into(),
        ));
    }
    Ok(keys::parse_name(raw, "parameter 'scope'")?)
}

/// `version`: an entry's version as `list --json` shows it, 64 lowercase hex digits.
fn parse_version(raw: &str) -> Result<String, ApiError> {
    if raw.len() == 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(raw.to_string())
    } else {
        let shown: String = raw.chars().take(70).collect();
        Err(ApiError::BadRequest(format!(
            "parameter 'version' is '{shown}': a version is 64 lowercase hex digits, as \
             list --json shows it"
        )))
    }
}

/// `all_scopes`: `true` or `false`.
fn parse_flag(params: &Params, name: &str) -> Result<bool, ApiError> {
    match params.get(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "parameter '{name}' is '{other}': use true or false"
        ))),
    }
}

pub fn open_store(settings: &Settings) -> Result<LocalStore, ApiError> {
    // The size limit is what the page shows each repo's size against; serve commits
    // nothing, so it evicts nothing.
    Ok(LocalStore::open(
        &settings.store_root,
        crate::store::local::Options {
            max_size: crate::config::max_size(None).ok(),
            ..crate::store::local::Options::default()
        },
    )?)
}

/// A repo is known when it has entries or recorded restores.
pub fn require_known_repo(store: &mut LocalStore, repo: &str) -> Result<(), ApiError> {
    if !store.repo_known(repo)? {
        return Err(unknown_repo(repo));
    }
    Ok(())
}

/// The 404 of a repo the store does not know.
pub fn unknown_repo(repo: &str) -> ApiError {
    ApiError::NotFound(format!(
        "unknown repo '{repo}': it has no caches and no recorded restores"
    ))
}

/// `GET /api/v1/caches`: `{"caches": [...], "total"}`, as `wit-cache list --json`; `total`
/// counts what matches without `limit` and `offset`.
pub fn list(ctx: &Ctx<'_>) -> Reply {
    answer((|| {
        let params = Params::parse(
            ctx.query,
            &[
                "repo", "id", "key", "prefix", "contains", "scope", "sort", "limit", "offset",
            ],
        )?;
        let repo = params.repo()?;
        let id = params.get("id").map(parse_id).transpose()?;
        let key = params.key("key")?;
        let prefix = params.key("prefix")?;
        let contains = params.key("contains")?;
        let scope = params
            .get("scope")
            .map(|s| keys::parse_name(s, "parameter 'scope'"))
            .transpose()?;
        let sort = parse_sort(params.get("sort"))?;
        let limit = params.get("limit").map(parse_limit).transpose()?;
        let offset = params
            .get("offset")
            .map(|o| parse_count(o, "offset"))
            .transpose()?
            .unwrap_or(0);
        let mut store = open_store(ctx.settings)?;
        if let Some(repo) = &repo {
            require_known_repo(&mut store, repo)?;
        }
        let filter = Filter {
            id,
            repo,
            scope,
            key_folded: key.as_ref().map(Key::folded),
            prefix_folded: prefix.as_ref().map(Key::folded),
            sort,
            limit,
            offset,
            ..Filter::default()
        };
        let listing = match &contains {
            Some(needle) => store.list_containing(&filter, &needle.folded())?,
            None => store.list(&filter)?,
        };
        Ok(Reply::json(
            200,
            &views::list(&store, &listing.entries, listing.total),
        ))
    })())
}

/// `GET /api/v1/stats`: as `wit-cache stats --json`.
pub fn stats(ctx: &Ctx<'_>) -> Reply {
    answer((|| {
        let params = Params::parse(ctx.query, &["repo", "since"])?;
        let repo = params.repo()?;
        let since = match params.get("since") {
            Some(raw) => Timestamp::from_ms(
                clock::ago_ms(units::parse_age(raw, "parameter 'since'")?).max(0),
            ),
            None => None,
        };
        let mut store = open_store(ctx.settings)?;
        if let Some(repo) = &repo {
            require_known_repo(&mut store, repo)?;
        }
        let stats = store.stats(repo.as_deref(), since)?;
        Ok(Reply::json(200, &views::stats(&stats, &store.location())))
    })())
}

/// What a DELETE names: one entry by id, a key in one scope or in all, or the whole repo.
enum Target {
    Id(i64),
    Key { key: Key, scope: Scopes },
    Repo,
}

/// Which scopes a key is deleted in.
enum Scopes {
    /// The entry saved without `--scope`.
    Unscoped,
    One(String),
    All,
}

/// `DELETE /api/v1/caches`: exactly one entry (`id`), a key in one scope (`key` with `scope`,
/// or without it the unscoped entry) or in every scope (`all_scopes=true`), or with neither
/// `id` nor `key` every entry of the repo. `version` narrows a key to one path list; with an
/// `id`, `key`, `scope` and `version` are checks the entry must pass (so a page that shows an
/// entry never deletes another one that took its id). Needs the admin token or a repository
/// token for R.
pub fn delete(ctx: &Ctx<'_>) -> Reply {
    answer((|| {
        // A token that is none of ours is refused before anything else is looked at.
        let grant = ctx
            .settings
            .tokens
            .authenticate(ctx.authorization)
            .map_err(ApiError::Denied)?;
        let params = Params::parse(
            ctx.query,
            &["repo", "id", "key", "scope", "version", "all_scopes"],
        )?;
        let repo = params.required_repo()?;
        // Whatever else the request names, a token for other repos stops here.
        grant.allows(&repo).map_err(ApiError::Denied)?;
        let id = params.get("id").map(parse_id).transpose()?;
        let key = params.key("key")?;
        let scope = params.get("scope").map(parse_scope).transpose()?;
        let version = params.get("version").map(parse_version).transpose()?;
        let all_scopes = parse_flag(&params, "all_scopes")?;
        let target = match (id, key.clone()) {
            (Some(id), _) if all_scopes => {
                return Err(ApiError::BadRequest(format!(
                    "parameter 'all_scopes' does not go with 'id': id {id} names one entry"
                )))
            }
            (Some(id), _) => Target::Id(id),
            (None, Some(key)) => Target::Key {
                key,
                scope: match (scope.clone(), all_scopes) {
                    (Some(s), true) => {
                        return Err(ApiError::BadRequest(format!(
                            "parameters 'scope' ('{s}') and 'all_scopes=true' contradict each \
                             other: give one of them"
                        )))
                    }
                    (Some(s), false) => Scopes::One(s),
                    (None, true) => Scopes::All,
                    (None, false) => Scopes::Unscoped,
                },
            },
            (None, None) => {
                if let Some(name) = ["scope", "version", "all_scopes"]
                    .into_iter()
                    .find(|n| params.get(n).is_some())
                {
                    return Err(ApiError::BadRequest(format!(
                        "parameter '{name}' needs 'key' or 'id': without them a DELETE clears \
                         every cache of the repo"
                    )));
                }
                Target::Repo
            }
        };
        let mut store = open_store(ctx.settings)?;
        require_known_repo(&mut store, &repo)?;
        let mut filter = Filter {
            repo: Some(repo.clone()),
            key_folded: key.as_ref().map(Key::folded),
            version: version.clone(),
            sort: Sort::Created,
            ..Filter::default()
        };
        match &target {
            Target::Id(id) => {
                filter.id = Some(*id);
                filter.scope.clone_from(&scope);
            }
            Target::Key { scope, .. } => {
                filter.scope = match scope {
                    // The index keeps "no scope" as the empty name.
                    Scopes::Unscoped => Some(String::new()),
                    Scopes::One(s) => Some(s.clone()),
                    Scopes::All => None,
                };
            }
            Target::Repo => {}
        }
        let entries = store.list(&filter)?.entries;
        if entries.is_empty() && !matches!(target, Target::Repo) {
            return Err(not_found(
                &mut store,
                &repo,
                &target,
                scope.as_deref(),
                version.as_deref(),
            ));
        }
        let removed = store.delete(&entries, Removal::Deleted)?;
        if removed.count == 0 && !matches!(target, Target::Repo) {
            // Deleted by someone else between the lookup and now.
            return Err(not_found(
                &mut store,
                &repo,
                &target,
                scope.as_deref(),
                version.as_deref(),
            ));
        }
        Ok(Reply::json(200, &views::removed(&removed, false)))
    })())
}

/// The 404 of a DELETE that found nothing: what was looked for and, for a key, the scopes it
/// is in, with the parameter that reaches them.
fn not_found(
    store: &mut LocalStore,
    repo: &str,
    target: &Target,
    scope: Option<&str>,
    version: Option<&str>,
) -> ApiError {
    let mut checks = String::new();
    if let Some(s) = scope {
        checks.push_str(&format!(" in scope '{s}'"));
    }
    if let Some(v) = version {
        checks.push_str(&format!(" with version {v}"));
    }
    let key = match target {
        Target::Id(id) => {
            return ApiError::NotFound(format!("no cache with id {id}{checks} in repo {repo}"));
        }
        Target::Key { key, .. } => key,
        Target::Repo => return ApiError::NotFound(format!("no cache in repo {repo}")),
    };
    let what = match target {
        Target::Key {
            scope: Scopes::Unscoped,
            ..
        } => format!("no unscoped cache with key '{}'", key.as_str()),
        _ => format!("no cache with key '{}'", key.as_str()),
    };
    let mut message = format!("{what}{checks} in repo {repo}");
    // Where the key is instead (a page or client that meant another scope learns which).
    let elsewhere = store
        .list(&Filter {
            repo: Some(repo.to_string()),
            key_folded: Some(key.folded()),
            sort: Sort::Created,
            ..Filter::default()
        })
        .map(|l| l.entries)
        .unwrap_or_default();
    let mut scopes: Vec<String> = elsewhere
        .iter()
        .map(|e| {
            e.scope
                .as_deref()
                .map_or_else(|| "(no scope)".to_string(), |s| format!("'{s}'"))
        })
        .collect();
    scopes.sort();
    scopes.dedup();
    if !scopes.is_empty() {
        message.push_str(&format!(
            "; it is in {} {}: name one with scope=NAME (leave it out for no scope), or every \
             scope with all_scopes=true",
            if scopes.len() == 1 { "scope" } else { "scopes" },
            scopes.join(", ")
        ));
    }
    ApiError::NotFound(message)
}

/// `GET /metrics`: `stats --format prometheus`.
pub fn metrics(ctx: &Ctx<'_>) -> Reply {
    answer((|| {
        Params::parse(ctx.query, &[])?;
        let mut store = open_store(ctx.settings)?;
        let repos = store.stats(None, None)?.repos;
        Ok(Reply {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: views::prometheus(&repos).into_bytes(),
            headers: Vec::new(),
        })
    })())
}

/// An `/api/` path that does not exist.
pub fn not_found_path(path: &str) -> Reply {
    ApiError::NotFound(format!(
        "no API at {path}: see /api/v1/caches and /api/v1/stats"
    ))
    .into_reply()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_strict() {
        let p = Params::parse("repo=acme%2Fapp&key=a+b", &["repo", "key"]).unwrap();
        assert_eq!(p.get("repo"), Some("acme/app"));
        assert_eq!(p.get("key"), Some("a b"));
        let err = Params::parse("repo=a&repo=b", &["repo"]).err().unwrap();
        assert!(err.message().contains("'repo' is given more than once"));
        let err = Params::parse("rpo=a", &["repo"]).err().unwrap();
        assert!(err.message().contains("unknown parameter 'rpo'"));
        assert_eq!(err.status(), 400);
        // Invalid percent-encoding and UTF-8 are decoded lossily, never a panic.
        assert!(Params::parse("repo=%ff%zz%", &["repo"]).is_ok());
        let p = Params::parse("key=a%2Cb", &["key"]).unwrap();
        assert!(p.key("key").err().unwrap().message().contains("comma"));
    }

    #[test]
    fn limits_fit_sqlite() {
        assert_eq!(parse_limit("0").unwrap(), 0);
        assert_eq!(parse_limit("9223372036854775807").unwrap(), MAX_LIMIT);
        for bad in [
            "9223372036854775808",
            "18446744073709551616",
            "-1",
            "+",
            "1e3",
            " 1",
        ] {
            let err = parse_limit(bad).err().unwrap();
            assert_eq!(err.status(), 400, "{bad}");
            assert!(
                err.message().contains("from 0 to 9223372036854775807"),
                "{bad}"
            );
        }
    }
}
