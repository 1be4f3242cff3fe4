//! The HTML pages: an overview of the repos and one page per repo (the seed's
//! `CacheSettings`), rendered on the server from the same index queries as the API.
//!
//! Keys, scopes, paths, run ids and repo ids are user data: every one goes through [`esc`]
//! (in attributes) or [`text`] (in element content: escaped, isolated in a `<bdi>` so that
//! right-to-left text cannot reorder what follows it, and with bidirectional control
//! characters shown as visible `[U+202E]` marks, so that a key reads as what it is). The
//! Content-Security-Policy ([`CSP`]) forbids inline scripts and styles as a second line.
//!
//! Every number and label is rendered here, once: the page's script (`assets/app.js`) never
//! formats anything. After a change it fetches this same page again and swaps in the regions
//! marked `data-swap`, so what the page shows after a deletion is what a reload would show.
//!
//! A repo page shows at most [`PER_PAGE`] entries; the filter, the sort and the page number
//! are query parameters of the page (`contains`, `sort`, `page`), links and a GET form, so the
//! page works without its script and each view has an address.

use std::fmt::Write as _;

use super::api::{self, ApiError, Ctx, Params};
use super::Reply;
use crate::keys::Key;
use crate::store::index::{DayRestores, DAY_MS};
use crate::store::tier::{RepoStats, Restores, Worth};
use crate::store::{Entry, Filter, LocalStore, Sort, Tier, Timestamp};
use crate::units::{ago, count, human_duration, human_size};
use crate::{clock, views};

/// Scripts and styles only from our own files; nothing may frame the page.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Entries on one page of a repo's list: enough to scan, few enough that a repo with
/// thousands of entries renders as fast as one with ten.
pub const PER_PAGE: u64 = 50;
/// Days of the restore chart, today included.
const CHART_DAYS: i64 = 30;
/// The window of the miss summary.
const MISS_DAYS: i64 = 7;

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

/// The characters that change the direction of the text around them (embeddings, overrides,
/// isolates, marks). Keys may contain them; shown raw, `abc\u{202E}txt.exe` would read as
/// another name.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// User text for element content: escaped, each bidirectional control shown as a visible
/// `[U+XXXX]` mark, the whole isolated in `<bdi>` (so a right-to-left name stays readable and
/// does not reorder the text after it).
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 11);
    out.push_str("<bdi>");
    let mut plain = String::new();
    for c in raw.chars() {
        if is_bidi_control(c) {
            out.push_str(&esc(&plain));
            plain.clear();
            out.push_str(&format!(
                r#"<span class="bidi" title="a character that changes the text direction">[U+{:04X}]</span>"#,
                u32::from(c)
            ));
        } else {
            plain.push(c);
        }
    }
    out.push_str(&esc(&plain));
    out.push_str("</bdi>");
    out
}

/// User text for an attribute people read (a tooltip, an accessible name): escaped, with
/// bidirectional controls as visible `[U+XXXX]` marks, as [`text`] shows them.
fn attr_text(raw: &str) -> String {
    let marked: String = raw
        .chars()
        .map(|c| {
            if is_bidi_control(c) {
                format!("[U+{:04X}]", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect();
    esc(&marked)
}

/// A whole number with thousands separators: `70,135`.
fn num(n: u64) -> String {
    count(n, "", "").trim_end().to_string()
}

/// The link to a repo's page (URL-encoded, then escaped for the attribute).
fn repo_href(repo: &str) -> String {
    esc(&page_url(repo, &View::default()))
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
                ("title", &attr_text(l.title)),
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
                text(message)
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

fn attempts(r: &Restores) -> u64 {
    r.hits + r.partial_hits + r.misses
}

fn hit_rate_text(s: &RepoStats) -> (String, String) {
    let r = s.restores.unwrap_or_default();
    let n = attempts(&r);
    if n == 0 {
        ("—".into(), "No restores yet".into())
    } else {
        (
            format!("{:.0} %", r.hit_rate() * 100.0),
            format!(
                "{} of {} hit",
                num(r.hits + r.partial_hits),
                count(n, "restore", "restores")
            ),
        )
    }
}

const ICON_DB: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><ellipse cx="12" cy="5" rx="9" ry="3"/><path d="M3 5v14a9 3 0 0 0 18 0V5"/><path d="M3 12a9 3 0 0 0 18 0"/></svg>"#;
const ICON_TRASH: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><path d="M3 6h18"/><path d="M19 6v14c0 1-1 2-2 2H7c-1 0-2-1-2-2V6"/><path d="M8 6V4c0-1 1-2 2-2h4c1 0 2 1 2 2v2"/><path d="M10 11v6"/><path d="M14 11v6"/></svg>"#;
const ICON_REFRESH: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><path d="M3 12a9 9 0 0 1 9-9 9.75 9.75 0 0 1 6.74 2.74L21 8"/><path d="M21 3v5h-5"/><path d="M21 12a9 9 0 0 1-9 9 9.75 9.75 0 0 1-6.74-2.74L3 16"/><path d="M8 16H3v5"/></svg>"#;
const ICON_LOCK: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><rect width="18" height="11" x="3" y="11" rx="2"/><path d="M7 11V7a5 5 0 0 1 10 0v4"/></svg>"#;
const ICON_UNLOCK: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><rect width="18" height="11" x="3" y="11" rx="2"/><path d="M7 11V7a5 5 0 0 1 9.9-1"/></svg>"#;
const ICON_CHART: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><path d="M3 3v18h18"/><path d="M8 17v-4"/><path d="M13 17V9"/><path d="M18 17v-7"/></svg>"#;
const ICON_SPARK: &str = r#"<svg class="icon" aria-hidden="true" viewBox="0 0 24 24"><path d="M13 2 3 14h9l-1 8 10-12h-9l1-8z"/></svg>"#;

/// `GET /`: every repo with its entries, size and hit rate.
pub fn overview(ctx: &Ctx<'_>) -> Reply {
    let result = (|| {
        Params::parse(ctx.query, &[])?;
        let mut store = api::open_store(ctx.settings)?;
        // The same window as the repo pages' hit rate.
        Ok::<_, ApiError>(store.stats(None, since_days(CHART_DAYS))?.repos)
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
<div class="stat"><p class="stat-value">{size}</p><p class="stat-label">Total size</p><p class="stat-sub">archives, compressed</p></div>
<div class="stat"><p class="stat-value">{entries}</p><p class="stat-label">Cached items</p></div>
<div class="stat"><p class="stat-value">{rate}</p><p class="stat-label">Hit rate, 30 days</p><p class="stat-sub">{rate_sub}</p></div>
</div>
</section>
<section class="card" aria-labelledby="repos-title">
<div class="card-head"><h2 id="repos-title">Repositories</h2></div>
"#,
        size = esc(&human_size(total.size_bytes)),
        entries = num(total.entries),
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
            let rate = if attempts(&r) == 0 {
                "no restores yet".to_string()
            } else {
                format!("{} hit rate in 30 days", hit_rate_text(s).0)
            };
            main.push_str(&format!(
                r#"<li class="item"><div class="item-main"><a class="repo-link" href="{href}">{name}</a><p class="meta"><span>{count}</span><span>{size}</span><span>{rate}</span></p></div><a class="btn btn-ghost" href="{href}" aria-hidden="true" tabindex="-1">Open</a></li>"#,
                href = repo_href(&s.repo),
                name = text(&s.repo),
                count = esc(&count(s.entries, "cache", "caches")),
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

/// What part of a repo's list a page shows: the page's own query parameters.
#[derive(Debug, Clone, Default)]
struct View {
    /// The filter as typed (keys compare folded).
    contains: Option<Key>,
    sort: Sort,
    /// 1-based.
    page: u64,
}

const SORTS: &[(Sort, &str, &str)] = &[
    (Sort::LastUsed, "last-used", "Last used"),
    (Sort::Size, "size", "Size"),
    (Sort::Created, "created", "Created"),
    (Sort::Hits, "hits", "Hits"),
];

fn sort_name(sort: Sort) -> &'static str {
    SORTS
        .iter()
        .find(|(s, _, _)| *s == sort)
        .map_or("last-used", |(_, name, _)| name)
}

/// The address of a view of a repo's page; default parameters are left out.
fn page_url(repo: &str, view: &View) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("repo", repo);
    if let Some(c) = &view.contains {
        q.append_pair("contains", c.as_str());
    }
    if view.sort != Sort::LastUsed {
        q.append_pair("sort", sort_name(view.sort));
    }
    if view.page > 1 {
        q.append_pair("page", &view.page.to_string());
    }
    format!("/repo?{}", q.finish())
}

fn parse_view(params: &Params) -> Result<View, ApiError> {
    // An empty filter box submits `contains=`: that is no filter.
    let contains = params
        .get("contains")
        .filter(|c| !c.is_empty())
        .map(|c| Key::parse(c, "parameter 'contains'"))
        .transpose()?;
    let sort = api::parse_sort(params.get("sort").filter(|s| !s.is_empty()))?;
    let page = match params.get("page") {
        None | Some("") => 1,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|p| (1..=i64::MAX as u64 / PER_PAGE).contains(p))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "parameter 'page' is '{raw}': use a page number from 1"
                ))
            })?,
    };
    Ok(View {
        contains,
        sort,
        page,
    })
}

/// Everything a repo page shows, read in one go.
struct RepoData {
    /// Whether the store knows the repo: it has entries or recorded restores.
    known: bool,
    /// The last [`CHART_DAYS`] days.
    month: RepoStats,
    /// The last [`MISS_DAYS`] days.
    week: RepoStats,
    days: Vec<DayRestores>,
    today: i64,
    entries: Vec<Entry>,
    /// Entries matching the view's filter.
    matching: u64,
    view: View,
    pages: u64,
}

fn since_days(days: i64) -> Option<Timestamp> {
    Timestamp::from_ms(clock::now_ms().saturating_sub(days * DAY_MS).max(0))
}

fn read_repo(store: &mut LocalStore, repo: &str, mut view: View) -> Result<RepoData, ApiError> {
    // Only the windows the page shows: each statistic costs a scan of the window's restores.
    let stats = |store: &LocalStore, days| -> Result<RepoStats, ApiError> {
        Ok(store
            .repo_stats(repo, since_days(days))?
            .unwrap_or_else(|| RepoStats {
                repo: repo.to_string(),
                limit_bytes: None,
                ..RepoStats::default()
            }))
    };
    let known = store.repo_known(repo)?;
    let month = stats(store, CHART_DAYS)?;
    let week = stats(store, MISS_DAYS)?;
    let today = clock::now_ms().div_euclid(DAY_MS);
    let days = store.restores_per_day(repo, today - (CHART_DAYS - 1), today)?;
    let mut list = |view: &View| -> Result<_, ApiError> {
        let filter = Filter {
            repo: Some(repo.to_string()),
            sort: view.sort,
            limit: Some(PER_PAGE),
            offset: (view.page - 1) * PER_PAGE,
            ..Filter::default()
        };
        Ok(match &view.contains {
            Some(c) => store.list_containing(&filter, &c.folded())?,
            None => store.list(&filter)?,
        })
    };
    let mut listing = list(&view)?;
    let pages = listing.total.div_ceil(PER_PAGE).max(1);
    if view.page > pages {
        // Past the end (the last entries were just deleted, or an old link): the last page.
        view.page = pages;
        listing = list(&view)?;
    }
    Ok(RepoData {
        known,
        month,
        week,
        days,
        today,
        entries: listing.entries,
        matching: listing.total,
        view,
        pages,
    })
}

/// `GET /repo?repo=R[&contains=T][&sort=…][&page=N]`: the seed's CacheSettings page. A repo
/// the store does not know (no entries, no recorded restores) is a 404 that still shows the
/// empty page, so the page's script can swap in its regions after the last entry went.
pub fn repo(ctx: &Ctx<'_>) -> Reply {
    let result = (|| {
        let params = Params::parse(ctx.query, &["repo", "contains", "sort", "page"])?;
        let repo = params.required_repo()?;
        let view = parse_view(&params)?;
        let mut store = api::open_store(ctx.settings)?;
        let data = read_repo(&mut store, &repo, view)?;
        Ok::<_, ApiError>((repo, data))
    })();
    let (repo, data) = match result {
        Ok(r) => r,
        Err(e) => return from_api_error(&e),
    };
    let now = clock::now_ms();
    let admin_on = ctx.settings.tokens.any();
    let unknown = if data.known {
        String::new()
    } else {
        format!(
            r#"<section class="card notice" role="status"><p><strong>Unknown repo.</strong> {}</p></section>"#,
            text(&api::unknown_repo(&repo).message())
        )
    };
    let main = format!(
        r#"<div class="page-head"><h1><span class="muted-title">Caches of</span> <span class="repo-name">{repo_text}</span></h1><p class="muted">Saved on this host by the repository's workflow runs; jobs restore them by key.</p></div>
{unknown}{admin_bar}
{storage}
<div class="insights">
{restores}
{worth}
</div>
{list}
{dialogs}"#,
        repo_text = text(&repo),
        admin_bar = admin_bar(admin_on),
        storage = storage_card(&data),
        list = list_card(&repo, &data, now),
        restores = restores_card(&data),
        worth = worth_card(&data),
        dialogs = dialogs(&repo),
    );
    let status = if data.known { 200 } else { 404 };
    render(
        status,
        &Layout {
            title: &format!("Caches of {repo}"),
            crumbs: format!(
                r#"<span class="crumb-sep" aria-hidden="true">/</span><a href="{}" aria-current="page">{}</a>"#,
                repo_href(&repo),
                text(&repo)
            ),
            data: format!(
                r#" data-repo="{}" data-admin="{}""#,
                esc(&repo),
                if admin_on { "on" } else { "off" }
            ),
            main,
        },
    )
}

fn admin_bar(admin_on: bool) -> String {
    if admin_on {
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
    }
}

/// The share `part` is of `whole`, for people: `7 %`, `<1 %`, `112 %`.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".into();
    }
    let p = part as f64 * 100.0 / whole as f64;
    if part > 0 && p < 1.0 {
        "<1 %".into()
    } else {
        format!("{p:.0} %")
    }
}

fn storage_card(d: &RepoData) -> String {
    let s = &d.month;
    let (rate, rate_sub) = hit_rate_text(s);
    let limit = match s.limit_bytes {
        Some(limit) if limit > 0 => {
            let over = s.size_bytes > limit;
            format!(
                r#"<div class="limit{over_class}" id="limit">
<p class="limit-head"><span class="limit-label">Size limit</span> <span id="limit-text">{size} of {limit_text} ({pct})</span></p>
<meter id="limit-meter" min="0" max="{limit}" low="{low}" high="{high}" optimum="0" value="{value}" aria-labelledby="limit-text">{pct}</meter>
<p class="stat-sub">{explain}</p>
</div>"#,
                over_class = if over { " limit-over" } else { "" },
                size = esc(&human_size(s.size_bytes)),
                limit_text = esc(&human_size(limit)),
                pct = esc(&percent(s.size_bytes, limit)),
                low = limit / 10 * 8,
                high = limit / 10 * 9,
                value = s.size_bytes.min(limit),
                explain = if over {
                    "Over the limit: the next save or gc evicts the least recently used entries until the repo is at 90 %."
                } else {
                    "Past the limit, a save or gc evicts the least recently used entries until the repo is at 90 %."
                },
            )
        }
        _ => String::new(),
    };
    format!(
        r#"<section class="card" id="storage" data-swap aria-labelledby="storage-title">
<div class="card-head"><h2 id="storage-title">{ICON_DB} Cache Storage</h2><p class="muted">Dependency caches speed up your workflow runs</p></div>
<div class="stats">
<div class="stat"><p class="stat-value" id="stat-size">{size}</p><p class="stat-label">Total size</p><p class="stat-sub">archives, compressed</p></div>
<div class="stat"><p class="stat-value" id="stat-count">{count}</p><p class="stat-label">Cached items</p></div>
<div class="stat"><p class="stat-value" id="stat-rate">{rate}</p><p class="stat-label">Hit rate, 30 days</p><p class="stat-sub" id="stat-rate-sub">{rate_sub}</p></div>
<div class="stat stat-action"><button type="button" id="clear-all" class="btn btn-danger" aria-disabled="true" aria-describedby="readonly-hint" data-count="{count}"{clear_disabled}>{ICON_TRASH} Clear All</button></div>
</div>
{limit}
</section>"#,
        size = esc(&human_size(s.size_bytes)),
        count = num(s.entries),
        rate = esc(&rate),
        rate_sub = esc(&rate_sub),
        clear_disabled = if s.entries == 0 { " disabled" } else { "" },
    )
}

/// One entry's row: the key, its scope, archive size, use, and the details behind a
/// disclosure; the delete button carries what the confirmation names.
fn cache_item(e: &Entry, now_ms: i64) -> String {
    let (id, restores, last_used) = match &e.usage {
        Some(u) => (u.id, u.access_count, Some(u.last_accessed_at)),
        None => (0, 0, None),
    };
    let (last, last_title) = match last_used {
        Some(at) if restores > 0 => (format!("Last used {}", ago(at.ms(), now_ms)), at),
        _ => (
            format!("Saved {}", ago(e.created_at.ms(), now_ms)),
            e.created_at,
        ),
    };
    let scope_badge = e.scope.as_deref().map_or_else(String::new, |s| {
        format!(
            r#"<span class="badge m-scope" title="Scope">{}</span>"#,
            text(s)
        )
    });
    let delete_label = match &e.scope {
        Some(s) => format!("Delete cache {} (scope {s})", e.key),
        None => format!("Delete cache {}", e.key),
    };
    let size = format!("{} archive", human_size(e.size_bytes));
    let paths = e.paths.iter().fold(String::new(), |mut out, p| {
        let _ = write!(out, "<li>{}</li>", text(p));
        out
    });
    let field = |name: &str, value: &str| format!("<div><dt>{name}</dt><dd>{value}</dd></div>");
    let time = |at: Timestamp| {
        format!(
            r#"<time datetime="{rfc}">{rfc}</time> ({ago})"#,
            rfc = esc(&at.rfc3339()),
            ago = esc(&ago(at.ms(), now_ms))
        )
    };
    let details = [
        field(
            "Key",
            &format!(r#"<span class="mono">{}</span>"#, text(&e.key)),
        ),
        field(
            "Scope",
            &e.scope
                .as_deref()
                .map_or_else(|| "none (saved without a scope)".into(), text),
        ),
        field(
            "Version",
            &format!(r#"<span class="mono">{}</span>"#, esc(&e.version)),
        ),
        field("Paths", &format!(r#"<ul class="paths mono">{paths}</ul>"#)),
        field("Files", &esc(&count(e.file_count, "file", "files"))),
        field(
            "Size",
            &esc(&match e.format {
                crate::store::Format::Archive => format!(
                    "{} archive ({}), {} unpacked",
                    human_size(e.size_bytes),
                    e.codec.name(),
                    human_size(e.unpacked_bytes)
                ),
                // Its size counts its manifest and the packs its save wrote (shared with
                // later entries), not one archive.
                crate::store::Format::Cas => format!(
                    "{} in cas packs and manifest, {} unpacked",
                    human_size(e.size_bytes),
                    human_size(e.unpacked_bytes)
                ),
            }),
        ),
        field("Created", &time(e.created_at)),
        field(
            "Created by run",
            &e.created_by_run.as_deref().map_or_else(|| "—".into(), text),
        ),
        field("Restores", &esc(&num(restores))),
        field(
            "Last used",
            &match last_used {
                Some(at) if restores > 0 => time(at),
                _ => "never restored".into(),
            },
        ),
        field("ID", &id.to_string()),
    ]
    .concat();
    format!(
        r#"<li class="item cache-item" data-id="{id}" data-key="{key}" data-scope="{scope}" data-version="{version}"><div class="item-main"><p class="cache-key" title="{key_title}">{key_text}</p><p class="meta">{scope_badge}<span class="m-size" title="{size_title}">{size}</span><span class="m-used">{used}</span><span class="m-last" title="{last_title}">{last}</span></p><details class="entry-detail"><summary>Details</summary><dl class="detail-list">{details}</dl></details></div><button type="button" class="btn btn-icon btn-delete" aria-label="{delete_label}" aria-disabled="true" aria-describedby="readonly-hint" title="Delete">{ICON_TRASH}</button></li>"#,
        key = esc(&e.key),
        key_title = attr_text(&e.key),
        key_text = text(&e.key),
        scope = esc(e.scope.as_deref().unwrap_or("")),
        version = esc(&e.version),
        size_title = esc(&format!(
            "archive size, compressed; {} unpacked",
            human_size(e.unpacked_bytes)
        )),
        size = esc(&size),
        used = esc(&format!("Used {}", count(restores, "time", "times"))),
        last = esc(&last),
        last_title = esc(&last_title.rfc3339()),
        delete_label = attr_text(&delete_label),
    )
}

fn list_card(repo: &str, d: &RepoData, now_ms: i64) -> String {
    let view = &d.view;
    let sort_options = SORTS
        .iter()
        .fold(String::new(), |mut out, (sort, name, label)| {
            let selected = if *sort == view.sort { " selected" } else { "" };
            let _ = write!(out, r#"<option value="{name}"{selected}>{label}</option>"#);
            out
        });
    let filter_value = view.contains.as_ref().map_or("", Key::as_str);
    let first = (view.page - 1) * PER_PAGE;
    let shown = d.entries.len() as u64;
    let count_line = if d.matching == 0 {
        String::new()
    } else {
        let range = if d.pages > 1 {
            format!("{}–{} of ", num(first + 1), num(first + shown))
        } else {
            String::new()
        };
        let needle = view.contains.as_ref().map_or_else(String::new, |c| {
            format!(" with a key containing “{}”", text(c.as_str()))
        });
        format!(
            r#"<p class="list-count" id="list-count">{}{}{needle}</p>"#,
            esc(&range),
            esc(&count(d.matching, "cache", "caches"))
        )
    };
    let empty_text = match &view.contains {
        None => "No caches yet".to_string(),
        Some(c) => format!("No cache key contains “{}”", text(c.as_str())),
    };
    let (items, empty_hidden, list_hidden) = if d.entries.is_empty() {
        (String::new(), "", " hidden")
    } else {
        (
            d.entries.iter().map(|e| cache_item(e, now_ms)).collect(),
            " hidden",
            "",
        )
    };
    let pager = if d.pages > 1 {
        let link = |page: u64, label: &str, rel: &str| {
            let target = View {
                page,
                ..view.clone()
            };
            format!(
                r#"<a class="btn" href="{}" rel="{rel}">{label}</a>"#,
                esc(&page_url(repo, &target))
            )
        };
        let off = |label: &str| format!(r#"<span class="btn" aria-disabled="true">{label}</span>"#);
        format!(
            r#"<nav class="pager" aria-label="Pages of the list">{prev}<span class="pager-at">Page {page} of {pages}</span>{next}</nav>"#,
            prev = if view.page > 1 {
                link(view.page - 1, "← Previous", "prev")
            } else {
                off("← Previous")
            },
            page = num(view.page),
            pages = num(d.pages),
            next = if view.page < d.pages {
                link(view.page + 1, "Next →", "next")
            } else {
                off("Next →")
            },
        )
    } else {
        String::new()
    };
    format!(
        r#"<section class="card" id="list" aria-labelledby="list-title">
<div class="card-head card-head-row"><h2 id="list-title" tabindex="-1">Cached Dependencies</h2><button type="button" id="refresh" class="btn btn-ghost">{ICON_REFRESH} Refresh</button></div>
<form class="list-tools" id="list-tools" method="get" action="/repo" role="search" aria-label="Filter and sort the caches">
<input type="hidden" name="repo" value="{repo_attr}">
<div class="field field-grow"><label for="filter">Filter by key</label><input id="filter" name="contains" type="search" value="{filter_value}" maxlength="512" autocomplete="off" spellcheck="false" placeholder="part of a key"></div>
<div class="field"><label for="sort">Sort by</label><select id="sort" name="sort">{sort_options}</select></div>
<button type="submit" class="btn">Apply</button>
</form>
<div id="cache-list" class="list-wrap" data-swap aria-busy="false" data-url="{url}">
<p id="loading" class="loading" hidden>Loading…</p>
{count_line}
<ul id="cache-items" class="item-list"{list_hidden}>{items}</ul>
<p id="empty" class="empty"{empty_hidden}>{empty_text}</p>
{pager}
</div>
</section>"#,
        repo_attr = esc(repo),
        filter_value = esc(filter_value),
        url = esc(&page_url(repo, view)),
    )
}

/// What each kind of miss reason means, for people (the kinds of
/// [`crate::store::misses::KINDS`]).
fn miss_meaning(kind: &str) -> &'static str {
    match kind {
        "version" => "the restore's path lines differ from the saved entry's (another order, a ~ the shell expanded, lines added or missing)",
        "scope" => "the key was saved in a scope the restore did not search: add a fallback scope",
        "evicted" => "gc removed the entry (over the size limit, or unused for the idle limit)",
        "deleted" => "the entry was deleted (wit-cache delete or this page)",
        "damaged" => "the entry was found damaged and removed",
        "unsigned" => "the entry carried no valid signature for this host's signing key",
        "empty-hash" => "the key ends where a hashFiles() part would be: its pattern matched no file",
        _ => "no entry had the key or a restore key yet (a first run, or new lockfiles)",
    }
}

/// A miss reason's kind as the summary names it.
fn miss_label(kind: &str) -> &str {
    match kind {
        "empty-hash" => "empty hash",
        "none" => "never saved",
        other => other,
    }
}

fn misses_summary(w: Option<&Worth>, misses: u64) -> String {
    let head = if misses == 0 {
        return r#"<p id="miss-summary">No misses in the last 7 days.</p>"#.into();
    } else {
        count(misses, "miss", "misses")
    };
    let mut kinds: Vec<(&String, &u64)> = w
        .map(|w| w.miss_reasons.iter().filter(|(_, n)| **n > 0).collect())
        .unwrap_or_default();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!("{} {}", num(**n), miss_label(k)))
        .collect();
    let items = kinds.iter().fold(String::new(), |mut out, (k, n)| {
        let _ = write!(
            out,
            r#"<li><span class="miss-kind">{} {}</span> {}</li>"#,
            esc(&num(**n)),
            esc(miss_label(k)),
            esc(miss_meaning(k))
        );
        out
    });
    format!(
        r#"<p id="miss-summary">{}</p><ul class="miss-list">{items}</ul>"#,
        esc(&if parts.is_empty() {
            format!("{head} last week")
        } else {
            format!("{head} last week: {}", parts.join(", "))
        })
    )
}

/// The restore chart: one stacked bar per UTC day (hits at the bottom, then restore-key hits,
/// then misses), scaled to the busiest day, as inline SVG. Each day's counts are in its
/// `<title>` (a tooltip, and what a screen reader reads) and `data-*` attributes.
fn chart(days: &[DayRestores], today: i64) -> String {
    const HEIGHT: f64 = 100.0;
    const SLOT: i64 = 10;
    let first = today - (CHART_DAYS - 1);
    let at = |day: i64| {
        days.iter()
            .find(|d| d.day == day)
            .copied()
            .unwrap_or_default()
    };
    let max = (first..=today)
        .map(|d| {
            let r = at(d);
            r.hits + r.partial_hits + r.misses
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let mut bars = String::new();
    for (i, day) in (first..=today).enumerate() {
        let r = at(day);
        let date = &clock::rfc3339(day * DAY_MS)[..10];
        let x = i as i64 * SLOT;
        bars.push_str(&format!(
            r#"<g class="day" data-day="{date}" data-hits="{}" data-partial="{}" data-misses="{}"><title>{date}: {}, {}, {}</title><rect class="bar-slot" x="{x}" y="0" width="{SLOT}" height="{HEIGHT}"/>"#,
            r.hits,
            r.partial_hits,
            r.misses,
            count(r.hits, "hit", "hits"),
            count(r.partial_hits, "restore-key hit", "restore-key hits"),
            count(r.misses, "miss", "misses"),
        ));
        let mut top = HEIGHT;
        for (class, n) in [
            ("bar-hit", r.hits),
            ("bar-partial", r.partial_hits),
            ("bar-miss", r.misses),
        ] {
            if n == 0 {
                continue;
            }
            let h = n as f64 * HEIGHT / max as f64;
            top -= h;
            bars.push_str(&format!(
                r#"<rect class="{class}" x="{}" y="{top:.2}" width="{}" height="{h:.2}"/>"#,
                x + 2,
                SLOT - 4
            ));
        }
        bars.push_str("</g>");
    }
    let first_date = &clock::rfc3339(first * DAY_MS)[..10];
    let last_date = &clock::rfc3339(today * DAY_MS)[..10];
    format!(
        r#"<figure class="chart"><svg id="restore-chart" viewBox="0 0 {w} {HEIGHT}" preserveAspectRatio="none" role="img" aria-labelledby="chart-caption" data-max="{max}">{bars}</svg><div class="chart-axis" aria-hidden="true"><span>{first_date}</span><span>{last_date}</span></div><figcaption id="chart-caption" class="sr-only">Restores per day from {first_date} to {last_date}, the busiest day with {max_text}.</figcaption></figure>"#,
        w = CHART_DAYS * SLOT,
        max_text = esc(&count(max, "restore", "restores")),
    )
}

fn restores_card(d: &RepoData) -> String {
    let r = d.month.restores.unwrap_or_default();
    let week = d.week.restores.unwrap_or_default();
    format!(
        r#"<section class="card" id="restores" data-swap aria-labelledby="restores-title">
<div class="card-head"><h2 id="restores-title">{ICON_CHART} Restores, last 30 days</h2><p class="muted" id="restores-total">{total}: {hits}, {partial}, {misses}</p></div>
{chart}
<ul class="legend" aria-hidden="true"><li><span class="swatch swatch-hit"></span>Hit (the primary key)</li><li><span class="swatch swatch-partial"></span>Restore-key hit</li><li><span class="swatch swatch-miss"></span>Miss</li></ul>
<p class="stat-sub">Days are UTC; hover a day for its numbers.</p>
<div class="misses" id="misses"><h3>Why restores missed</h3>{summary}</div>
</section>"#,
        total = esc(&count(attempts(&r), "restore", "restores")),
        hits = esc(&count(r.hits, "hit", "hits")),
        partial = esc(&count(
            r.partial_hits,
            "restore-key hit",
            "restore-key hits"
        )),
        misses = esc(&count(r.misses, "miss", "misses")),
        chart = chart(&d.days, d.today),
        summary = misses_summary(d.week.worth.as_ref(), week.misses),
    )
}

fn worth_card(d: &RepoData) -> String {
    let r = d.month.restores.unwrap_or_default();
    let w = d.month.worth.clone().unwrap_or_default();
    let figure = |id: &str, label: &str, value: String, sub: String| {
        format!(
            r#"<div class="figure" id="{id}"><dt>{label}</dt><dd class="figure-value">{}</dd><dd class="figure-sub">{}</dd></div>"#,
            esc(&value),
            sub
        )
    };
    let limit = d.month.limit_bytes.map_or_else(
        || "the size limit".to_string(),
        |l| format!("the size limit ({})", human_size(l)),
    );
    let time = if w.measured_restore_ms + w.command_ms > 0 {
        figure(
            "worth-time",
            "Restore time",
            human_duration(w.measured_restore_ms),
            esc(&format!(
                "vs {} for the jobs' commands after those restores (measured by wit-cache run)",
                human_duration(w.command_ms)
            )),
        )
    } else {
        figure(
            "worth-time",
            "Restore time",
            "not measured".into(),
            "jobs measure it when they run their command through <code>wit-cache run</code>".into(),
        )
    };
    format!(
        r#"<section class="card" id="worth" data-swap aria-labelledby="worth-title">
<div class="card-head"><h2 id="worth-title">{ICON_SPARK} What the cache is worth, last 30 days</h2><p class="muted">Archive bytes: compressed, as stored</p></div>
<dl class="figures">
{restored}
{saved}
{never}
{evicted}
{time}
</dl>
<p class="note{note_class}" id="evicted-note">Entries evicted before anyone restored them are work thrown away: many of them mean {limit} is too small for this repo, so each save pushes out what the next runs need. Raise it with <code>WIT_CACHE_MAX_SIZE</code> (and <code>gc --max-size</code>).</p>
</section>"#,
        restored = figure(
            "worth-restored",
            "Restored",
            human_size(r.bytes_restored),
            esc(&format!(
                "by {}",
                count(r.hits + r.partial_hits, "restore", "restores")
            )),
        ),
        saved = figure(
            "worth-saved",
            "Saved",
            human_size(w.bytes_saved),
            esc(&format!("by {}", count(w.saves, "save", "saves"))),
        ),
        never = figure(
            "worth-never",
            "Never restored",
            count(w.never_restored, "entry", "entries"),
            esc(&format!("of {} stored now", num(d.month.entries))),
        ),
        evicted = figure(
            "worth-evicted",
            "Evicted unused",
            count(w.evicted_unused, "entry", "entries"),
            "removed by gc before any restore used them".into(),
        ),
        note_class = if w.evicted_unused > 0 {
            " note-warn"
        } else {
            ""
        },
    )
}

fn dialogs(repo: &str) -> String {
    format!(
        r#"<dialog id="confirm-delete" aria-labelledby="delete-title" aria-describedby="delete-text">
<form method="dialog">
<h2 id="delete-title">Delete this cache?</h2>
<div id="delete-text"><dl class="confirm-entry"><div><dt>Key</dt><dd id="delete-key" class="mono"></dd></div><div><dt>Scope</dt><dd id="delete-scope"></dd></div><div><dt>Size</dt><dd id="delete-size"></dd></div></dl>
<p>Only this entry is deleted; the same key in other scopes stays. The next run with this key misses and saves it again.</p></div>
<div class="dialog-actions"><button value="cancel" class="btn" autofocus>Cancel</button><button value="confirm" id="confirm-delete-ok" class="btn btn-danger-solid">{ICON_TRASH} Delete cache</button></div>
</form>
</dialog>
<dialog id="confirm-clear" aria-labelledby="confirm-title" aria-describedby="confirm-text">
<form method="dialog">
<h2 id="confirm-title">Clear all caches?</h2>
<p id="confirm-text">This deletes every cache of <strong>{repo}</strong>, not only the ones shown. The next workflow runs start without them.</p>
<div class="dialog-actions"><button value="cancel" class="btn" autofocus>Cancel</button><button value="confirm" id="confirm-clear-ok" class="btn btn-danger-solid">{ICON_TRASH} Clear all caches</button></div>
</form>
</dialog>"#,
        repo = text(repo),
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
    fn user_text_is_isolated_with_direction_controls_visible() {
        assert_eq!(text("a<b"), "<bdi>a&lt;b</bdi>");
        let shown = text("evil\u{202E}txt.exe");
        assert!(!shown.contains('\u{202E}'), "{shown}");
        assert!(
            shown.starts_with("<bdi>evil<span class=\"bidi\""),
            "{shown}"
        );
        assert!(shown.ends_with(">[U+202E]</span>txt.exe</bdi>"), "{shown}");
        for c in ['\u{200F}', '\u{2066}', '\u{2069}', '\u{061C}'] {
            assert!(!text(&format!("x{c}y")).contains(c));
        }
        // Right-to-left letters are text, not controls.
        assert_eq!(text("שלום"), "<bdi>שלום</bdi>");
    }

    #[test]
    fn numbers_and_shares() {
        assert_eq!(num(0), "0");
        assert_eq!(num(70_135), "70,135");
        assert_eq!(percent(1, 1000), "<1 %");
        assert_eq!(percent(0, 1000), "0 %");
        assert_eq!(percent(763, 1000), "76 %");
        assert_eq!(percent(5, 0), "—");
    }

    #[test]
    fn views_have_addresses() {
        let view = View {
            contains: Some(Key::parse("npm &x", "t").unwrap()),
            sort: Sort::Size,
            page: 3,
        };
        assert_eq!(
            page_url("acme/app", &view),
            "/repo?repo=acme%2Fapp&contains=npm+%26x&sort=size&page=3"
        );
        assert_eq!(page_url("a", &View::default()), "/repo?repo=a");
    }

    #[test]
    fn chart_bars_scale_to_the_busiest_day() {
        let today = 20_000;
        let days = [
            DayRestores {
                day: today,
                hits: 3,
                partial_hits: 0,
                misses: 1,
            },
            DayRestores {
                day: today - 2,
                hits: 0,
                partial_hits: 1,
                misses: 0,
            },
        ];
        let svg = chart(&days, today);
        assert_eq!(svg.matches(r#"<g class="day""#).count(), 30);
        assert!(svg.contains(r#"class="bar-hit" x="292" y="25.00" width="6" height="75.00""#));
        assert!(svg.contains(r#"class="bar-miss" x="292" y="0.00" width="6" height="25.00""#));
        assert!(svg.contains(r#"class="bar-partial" x="272" y="75.00" width="6" height="25.00""#));
    }
}
