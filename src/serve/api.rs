//! The JSON API: the seed's `listCaches`, `getCacheStats`, `deleteCache` and `clearCaches`,
//! plus `/metrics`. Documents come from [`crate::views`], the same builders as `--json`.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/caches?repo=R[&prefix=P][&scope=S][&sort=…][&limit=N]` | `{"caches": [...]}` |
//! | `GET /api/v1/stats[?repo=R][&since=AGE]` | `{"repos", "total", "top_keys"}` |
//! | `DELETE /api/v1/caches?repo=R&key=K` | `{"deleted": 1…, "freed_bytes", "keys"}`, 404 when unknown |
//! | `DELETE /api/v1/caches?repo=R` | `{"deleted": N, …}`: clears the repo |
//! | `GET /metrics` | Prometheus text format |

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
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_LIMIT)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "parameter 'limit' is '{raw}': use a whole number from 0 to {MAX_LIMIT}"
            ))
        })
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
    if store.stats(Some(repo), None)?.repos.is_empty() {
        return Err(ApiError::NotFound(format!(
            "unknown repo '{repo}': it has no caches and no recorded restores"
        )));
    }
    Ok(())
}

/// `GET /api/v1/caches`: `{"caches": [...]}`, as `wit-cache list --json`.
pub fn list(ctx: &Ctx<'_>) -> Reply {
    answer((|| {
        let params = Params::parse(ctx.query, &["repo", "prefix", "scope", "sort", "limit"])?;
        let repo = params.repo()?;
        let prefix = params.key("prefix")?;
        let scope = params
            .get("scope")
            .map(|s| keys::parse_name(s, "parameter 'scope'"))
            .transpose()?;
        let sort = match params.get("sort") {
            None | Some("last-used") => Sort::LastUsed,
            Some("created") => Sort::Created,
            Some("size") => Sort::Size,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "parameter 'sort' is '{other}': use created, last-used or size"
                )))
            }
        };
        let limit = params.get("limit").map(parse_limit).transpose()?;
        let mut store = open_store(ctx.settings)?;
        if let Some(repo) = &repo {
            require_known_repo(&mut store, repo)?;
        }
        let listing = store.list(&Filter {
            repo,
            scope,
            prefix_folded: prefix.as_ref().map(Key::folded),
            sort,
            limit,
            ..Filter::default()
        })?;
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

/// `DELETE /api/v1/caches?repo=R[&key=K]`: one key (every scope and version of it), or with
/// no key every entry of the repo. Needs the admin token or a repository token for R.
pub fn delete(ctx: &Ctx<'_>) -> Reply {
    answer((|| {
        // A token that is none of ours is refused before anything else is looked at.
        let grant = ctx
            .settings
            .tokens
            .authenticate(ctx.authorization)
            .map_err(ApiError::Denied)?;
        let params = Params::parse(ctx.query, &["repo", "key"])?;
        let repo = params.required_repo()?;
        grant.allows(&repo).map_err(ApiError::Denied)?;
        let key = params.key("key")?;
        let mut store = open_store(ctx.settings)?;
        require_known_repo(&mut store, &repo)?;
        let entries = store
            .list(&Filter {
                repo: Some(repo.clone()),
                key_folded: key.as_ref().map(Key::folded),
                sort: Sort::Created,
                ..Filter::default()
            })?
            .entries;
        if let Some(key) = &key {
            if entries.is_empty() {
                return Err(ApiError::NotFound(format!(
                    "no cache with key '{}' in repo {repo}",
                    key.as_str()
                )));
            }
        }
        let removed = store.delete(&entries, Removal::Deleted)?;
        Ok(Reply::json(200, &views::removed(&removed, false)))
    })())
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
