//! The HTML pages: an overview of the repos and one page per repo (the seed's
//! `CacheSettings`), rendered on the server from the same index queries as the API.
//!
//! Keys and repo ids are user data: every one goes through [`esc`] (or a URL encoder and then
//! [`esc`]) before it reaches HTML, and the page's script builds its DOM with `textContent`
//! only. The Content-Security-Policy ([`CSP`]) forbids inline scripts as a second line.
//! The script (`assets/app.js`) re-renders the list and the stats from the JSON API after a
//! change, cloning the row markup this module puts in a `<template>`, so a row has one
//! definition.

use super::api::{self, ApiError, Ctx, Params};
use super::Reply;
use crate::store::tier::RepoStats;
use crate::store::{Entry, Filter, Sort, Tier};
use crate::units::{ago, human_size};
use crate::{clock, views};

/// Scripts and styles only from our own files; nothing may frame the page.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

const LAYOUT: &str = include_str!("assets/index.html");

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The link to a repo's page (URL-encoded, then escaped for the attribute).
fn repo_href(repo: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(repo.as_bytes()).collect();
    esc(&format!("/repo?repo={encoded}"))
}

/// Fills `{{name}}` slots of the layout in one pass, so text that was put into one slot is
/// never read as another slot.
fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 4096);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let slot = after.find("}}").and_then(|end| {
            let name = &after[..end];
            slots
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (end, *v))
        });
        if let Some((end, value)) = slot {
            out.push_str(value);
            rest = &after[end + 2..];
        } else {
            out.push_str("{{");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

struct Layout<'a> {
    title: &'a str,
    /// Breadcrumb after the brand (already HTML).
    crumbs: String,
    /// `data-*` attributes of `<body>` (already escaped).
    data: String,
    main: String,
}

fn render(status: u16, l: &Layout<'_>) -> Reply {
    Reply::html(
        status,
        fill(
            LAYOUT,
            &[
                ("title", &esc(l.title)),
                ("crumbs", &l.crumbs),
                ("data", &l.data),
                ("main", &l.main),
            ],
        ),
    )
}

fn error_page(status: u16, title: &str, message: &str) -> Reply {
    render(
        status,
        &Layout {
            title,
            crumbs: String::new(),
            data: String::new(),
            main: format!(
                r#"<section class="card error-card"><h1>{}</h1><p>{}</p><p><a class="btn" href="/">All repositories</a></p></section>"#,
                esc(title),
                esc(message)
            ),
        },
    )
}

fn from_api_error(e: &ApiError) -> Reply {
    let title = match e.status() {
        400 => "Bad request",
        404 => "Not found",
        _ => "Something went wrong",
    };
    error_page(e.status(), title, &e.message())
}

pub fn not_found(_settings: &super::Settings, message: &str) -> Reply {
    error_page(404, "Not found", message)
}

fn hit_rate_text(s: &RepoStats) -> (String, String) {
    let s = s.restores.unwrap_or_default();
    let attempts = s.hits + s.partial_hits + s.misses;
    if attempts == 0 {
        ("—".into(), "No restores yet".into())
    } else {
        (
            format!("{:.0} %", s.hit_rate() * 100.0),
            format!(
                "{} of {attempts} restore{} hit",
                s.hits + s.partial_hits,
                if attempts == 1 { "" } else { "s" }
            ),
        )
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

const ICON_DB: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><ellipse cx="12" cy="5" rx="9" ry="3"/><path d="M3 5v14a9 3 0 0 0 18 0V5"/><path d="M3 12a9 3 0 0 0 18 0"/></svg>"#;
const ICON_TRASH: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><path d="M3 6h18"/><path d="M19 6v14c0 1-1 2-2 2H7c-1 0-2-1-2-2V6"/><path d="M8 6V4c0-1 1-2 2-2h4c1 0 2 1 2 2v2"/><path d="M10 11v6"/><path d="M14 11v6"/></svg>"#;
const ICON_REFRESH: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><path d="M3 12a9 9 0 0 1 9-9 9.75 9.75 0 0 1 6.74 2.74L21 8"/><path d="M21 3v5h-5"/><path d="M21 12a9 9 0 0 1-9 9 9.75 9.75 0 0 1-6.74-2.74L3 16"/><path d="M8 16H3v5"/></svg>"#;
const ICON_LOCK: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><rect width="18" height="11" x="3" y="11" rx="2"/><path d="M7 11V7a5 5 0 0 1 10 0v4"/></svg>"#;
const ICON_UNLOCK: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><rect width="18" height="11" x="3" y="11" rx="2"/><path d="M7 11V7a5 5 0 0 1 9.9-1"/></svg>"#;

/// `GET /`: every repo with its entries, size and hit rate.
pub fn overview(ctx: &Ctx<'_>) -> Reply {
    let result = (|| {
        Params::parse(ctx.query, &[])?;
        let mut store = api::open_store(ctx.settings)?;
        Ok::<_, ApiError>(store.stats(None, None)?.repos)
    })();
    let repos = match result {
        Ok(r) => r,
        Err(e) => return from_api_error(&e),
    };
    let total = views::total(&repos);
    let (rate, rate_sub) = hit_rate_text(&total);
    let mut main = format!(
        r#"<div class="page-head"><h1>Dependency caches</h1><p class="muted">The caches stored on this host, by repository.</p></div>
<section class="card" aria-labelledby="storage-title">
<div class="card-head"><h2 id="storage-title">{ICON_DB} Cache Storage</h2><p class="muted">All repositories</p></div>
<div class="stats">
<div class="stat"><p class="stat-value">{size}</p><p class="stat-label">Total size</p></div>
<div class="stat"><p class="stat-value">{entries}</p><p class="stat-label">Cached items</p></div>
<div class="stat"><p class="stat-value">{rate}</p><p class="stat-label">Hit rate</p><p class="stat-sub">{rate_sub}</p></div>
</div>
</section>
<section class="card" aria-labelledby="repos-title">
<div class="card-head"><h2 id="repos-title">Repositories</h2></div>
"#,
        size = esc(&human_size(total.size_bytes)),
        entries = total.entries,
        rate = esc(&rate),
        rate_sub = esc(&rate_sub),
    );
    if repos.is_empty() {
        main.push_str(
            r#"<p class="empty">No caches yet. They appear here once a job runs <code>wit-cache save</code>.</p>"#,
        );
    } else {
        main.push_str(r#"<ul class="item-list">"#);
        for s in &repos {
            let r = s.restores.unwrap_or_default();
            let rate = if r.hits + r.partial_hits + r.misses == 0 {
                "no restores yet".to_string()
            } else {
                format!("{} hit rate", hit_rate_text(s).0)
            };
            main.push_str(&format!(
                r#"<li class="item"><div class="item-main"><a class="repo-link" href="{href}">{name}</a><p class="meta"><span>{count}</span><span>{size}</span><span>{rate}</span></p></div><a class="btn btn-ghost" href="{href}" aria-hidden="true" tabindex="-1">Open</a></li>"#,
                href = repo_href(&s.repo),
                name = esc(&s.repo),
                count = esc(&plural(s.entries, "cache", "caches")),
                size = esc(&human_size(s.size_bytes)),
                rate = esc(&rate),
            ));
        }
        main.push_str("</ul>");
    }
    main.push_str("</section>");
    render(
        200,
        &Layout {
            title: "Dependency caches",
            crumbs: String::new(),
            data: String::new(),
            main,
        },
    )
}

/// One cached entry's row. With `None` it is the empty `<template>` row the script clones.
fn cache_item(e: Option<&Entry>, now_ms: i64) -> String {
    let (key, size, used, last, last_title, scope) = match e {
        None => Default::default(),
        Some(e) => {
            let count = e.usage.as_ref().map_or(0, |u| u.access_count);
            let last = e.last_used();
            (
                e.key.clone(),
                human_size(e.size_bytes),
                format!("Used {}", plural(count, "time", "times")),
                if count == 0 {
                    format!("Saved {}", ago(e.created_at.ms(), now_ms))
                } else {
                    format!("Last used {}", ago(last.ms(), now_ms))
                },
                if count == 0 { e.created_at } else { last }.rfc3339(),
                e.scope.clone().unwrap_or_default(),
            )
        }
    };
    format!(
        r#"<li class="item cache-item" data-key="{key}"><div class="item-main"><p class="cache-key" title="{key}">{key}</p><p class="meta"><span class="m-size">{size}</span><span class="m-used">{used}</span><span class="m-last" title="{last_title}">{last}</span><span class="badge m-scope" title="Scope"{scope_hidden}>{scope}</span></p></div><button type="button" class="btn btn-icon btn-delete" aria-label="Delete cache {key}" aria-disabled="true" aria-describedby="readonly-hint" title="Delete">{ICON_TRASH}</button></li>"#,
        key = esc(&key),
        size = esc(&size),
        used = esc(&used),
        last = esc(&last),
        last_title = esc(&last_title),
        scope_hidden = if scope.is_empty() { " hidden" } else { "" },
        scope = esc(&scope),
    )
}

/// `GET /repo?repo=R`: the seed's CacheSettings page.
pub fn repo(ctx: &Ctx<'_>) -> Reply {
    let result = (|| {
        let params = Params::parse(ctx.query, &["repo"])?;
        let repo = params.required_repo()?;
        let mut store = api::open_store(ctx.settings)?;
        api::require_known_repo(&mut store, &repo)?;
        let stats = store
            .stats(Some(&repo), None)?
            .repos
            .pop()
            .unwrap_or_default();
        let entries = store
            .list(&Filter {
                repo: Some(repo.clone()),
                sort: Sort::LastUsed,
                ..Filter::default()
            })?
            .entries;
        Ok::<_, ApiError>((repo, stats, entries))
    })();
    let (repo, stats, entries) = match result {
        Ok(r) => r,
        Err(e) => return from_api_error(&e),
    };
    let now = clock::now_ms();
    let admin_on = ctx.settings.tokens.any();
    let (rate, rate_sub) = hit_rate_text(&stats);
    let admin_bar = if admin_on {
        format!(
            r#"<section class="admin-bar" aria-label="Admin access">
<form id="token-form" class="token-form">
<p id="readonly-hint" class="hint">{ICON_LOCK}<span><strong>Read-only.</strong> Enter the admin token, or a token for this repository, to delete caches.</span></p>
<div class="token-row"><label for="admin-token">Admin token</label><input id="admin-token" name="token" type="password" autocomplete="off" spellcheck="false" required><button type="submit" class="btn btn-primary">Unlock</button></div>
</form>
<div id="unlocked" class="unlocked" hidden><p class="hint">{ICON_UNLOCK}<span><strong>Unlocked.</strong> You can delete caches; the token is kept in this browser tab until you lock it or close the tab.</span></p><button type="button" id="lock" class="btn">Lock</button></div>
</section>"#
        )
    } else {
        format!(
            r#"<section class="admin-bar" aria-label="Admin access"><p id="readonly-hint" class="hint">{ICON_LOCK}<span><strong>Read-only.</strong> Deleting is turned off: this server was started without an admin token (<code>--admin-token-file</code> or <code>WIT_CACHE_ADMIN_TOKEN</code>) and without <code>--tokens-file</code>.</span></p></section>"#
        )
    };
    let list = if entries.is_empty() {
        r#"<ul id="cache-items" class="item-list" hidden></ul><p id="empty" class="empty">No caches yet</p>"#.to_string()
    } else {
        let items: String = entries.iter().map(|e| cache_item(Some(e), now)).collect();
        format!(
            r#"<ul id="cache-items" class="item-list">{items}</ul><p id="empty" class="empty" hidden>No caches yet</p>"#
        )
    };
    let main = format!(
        r#"<div class="page-head"><h1><span class="muted-title">Caches of</span> <span class="repo-name">{repo}</span></h1><p class="muted">Saved on this host by the repository's workflow runs; jobs restore them by key.</p></div>
{admin_bar}
<section class="card" aria-labelledby="storage-title">
<div class="card-head"><h2 id="storage-title">{ICON_DB} Cache Storage</h2><p class="muted">Dependency caches speed up your workflow runs</p></div>
<div class="stats">
<div class="stat"><p class="stat-value" id="stat-size">{size}</p><p class="stat-label">Total size</p></div>
<div class="stat"><p class="stat-value" id="stat-count">{count}</p><p class="stat-label">Cached items</p></div>
<div class="stat"><p class="stat-value" id="stat-rate">{rate}</p><p class="stat-label">Hit rate</p><p class="stat-sub" id="stat-rate-sub">{rate_sub}</p></div>
<div class="stat stat-action"><button type="button" id="clear-all" class="btn btn-danger" aria-disabled="true" aria-describedby="readonly-hint"{clear_disabled}>{ICON_TRASH} Clear All</button></div>
</div>
</section>
<section class="card" aria-labelledby="list-title">
<div class="card-head card-head-row"><h2 id="list-title" tabindex="-1">Cached Dependencies</h2><button type="button" id="refresh" class="btn btn-ghost">{ICON_REFRESH} Refresh</button></div>
<div id="cache-list" class="list-wrap" aria-busy="false">
<p id="loading" class="loading" hidden>Loading…</p>
{list}
</div>
<template id="cache-item-template">{template}</template>
</section>
<dialog id="confirm-clear" aria-labelledby="confirm-title" aria-describedby="confirm-text">
<form method="dialog">
<h2 id="confirm-title">Clear all caches?</h2>
<p id="confirm-text">This deletes every cache of <strong>{repo}</strong>. The next workflow runs start without them.</p>
<div class="dialog-actions"><button value="cancel" class="btn" autofocus>Cancel</button><button value="confirm" id="confirm-clear-ok" class="btn btn-danger-solid">{ICON_TRASH} Clear all caches</button></div>
</form>
</dialog>"#,
        repo = esc(&repo),
        size = esc(&human_size(stats.size_bytes)),
        count = stats.entries,
        rate = esc(&rate),
        rate_sub = esc(&rate_sub),
        clear_disabled = if entries.is_empty() { " disabled" } else { "" },
        template = cache_item(None, now),
    );
    render(
        200,
        &Layout {
            title: &format!("Caches of {repo}"),
            crumbs: format!(
                r#"<span class="crumb-sep" aria-hidden="true">/</span><a href="{}" aria-current="page">{}</a>"#,
                repo_href(&repo),
                esc(&repo)
            ),
            data: format!(
                r#" data-repo="{}" data-admin="{}" data-now="{now}""#,
                esc(&repo),
                if admin_on { "on" } else { "off" }
            ),
            main,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<img src=x onerror="alert('1')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
        assert_eq!(repo_href("a/b&c d"), "/repo?repo=a%2Fb%26c+d");
    }

    #[test]
    fn slots_are_filled_once() {
        assert_eq!(
            fill("<{{a}}|{{b}}|{{c}}>", &[("a", "{{b}}"), ("b", "x")]),
            "<{{b}}|x|{{c}}>"
        );
    }
}
