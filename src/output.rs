//! The only place that prints: human text and warnings on stderr, data on stdout.
//!
//! With `--json`, stdout carries exactly one JSON document and nothing else; `-q` silences
//! everything but warnings and errors; colour is used only on a terminal, never with `NO_COLOR`
//! or `--color never`. A closed stdout (`wit-cache list | head`) is not an error.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::cli::{ColorChoice, GlobalArgs};
use crate::store::archive::Progress;
use crate::units::human_size;

pub struct Printer {
    json: bool,
    quiet: bool,
    verbose: u8,
    color: bool,
}

/// A bar on a terminal appears only for work still running after this long: a quick save
/// or restore draws nothing and never waits for the drawing thread.
const BAR_DELAY: Duration = Duration::from_secs(1);
/// How often the bar is redrawn.
const BAR_TICK: Duration = Duration::from_millis(100);
/// Without a terminal (a CI log), a plain line for work still running after this long, and
/// then one at most this often, as actions/cache prints "Received X of Y".
const LOG_INTERVAL: Duration = Duration::from_secs(5);
/// Hidden, for tests: the log interval in milliseconds (0: the first line at once).
const LOG_INTERVAL_ENV: &str = "WIT_CACHE_PROGRESS_INTERVAL_MS";

/// What a progress counter counts, so that the bar and the log lines say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Archive bytes read, of the archive's size (restore).
    ArchiveBytes,
    /// File bytes read from the paths (save; the total is not known in advance).
    FileBytes,
}

/// Draws progress from a [`Progress`] counter until dropped. Dropping it wakes the drawing
/// thread at once (it waits on a channel, not in a sleep), so the work never waits a tick.
pub struct ProgressGuard {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One progress report as words: `120.00 MiB of 400.00 MiB archive read (30 %), 40.0 MiB/s`.
fn progress_words(counted: Counted, done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = human_size((done as f64 / secs) as u64);
    match (counted, total) {
        (Counted::ArchiveBytes, Some(total)) => format!(
            "{} of {} archive read ({:.0} %), {rate}/s",
            human_size(done),
            human_size(total),
            done as f64 * 100.0 / total.max(1) as f64
        ),
        (Counted::ArchiveBytes, None) => format!("{} of archive read, {rate}/s", human_size(done)),
        (Counted::FileBytes, _) => format!("{} of files read, {rate}/s", human_size(done)),
    }
}

/// Time left at the average rate since the start (steadier than the rate of the last
/// moments, which jumps with the sizes of the files passing by).
fn eta(done: u64, total: u64, elapsed: Duration) -> String {
    if done == 0 || done >= total {
        return String::new();
    }
    let left = elapsed.as_secs_f64() * (total - done) as f64 / done as f64;
    let left = left.round() as u64;
    if left >= 60 {
        format!("{}m{:02}s left", left / 60, left % 60)
    } else {
        format!("{left}s left")
    }
}

impl Printer {
    pub fn new(args: &GlobalArgs) -> Self {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stderr().is_terminal()
            }
        };
        Self {
            json: args.json,
            quiet: args.quiet,
            verbose: args.verbose,
            color,
        }
    }

    /// Progress of `what` (a save or restore), fed by `counter` (of `total` bytes when
    /// known). On a terminal: a bar, drawn only once the work has run for [`BAR_DELAY`], one
    /// line wide whatever the key. Otherwise (a CI log): a plain line after
    /// [`LOG_INTERVAL`] and then at most that often. Nothing with `-q` or `--json` (on a
    /// terminal) and nothing for work that ends sooner.
    pub fn progress(
        &self,
        what: &str,
        total: Option<u64>,
        counter: &Progress,
        unit: Counted,
    ) -> Option<ProgressGuard> {
        if self.quiet {
            return None;
        }
        let terminal = io::stderr().is_terminal();
        if terminal && self.json {
            return None;
        }
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let counter = counter.clone();
        let what = what.to_string();
        let started = Instant::now();
        if !terminal {
            let interval = std::env::var(LOG_INTERVAL_ENV)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(LOG_INTERVAL, Duration::from_millis);
            let line = move || {
                eprintln!(
                    "{}: {}",
                    escape(&what),
                    progress_words(unit, counter.get(), total, started.elapsed())
                );
            };
            if interval.is_zero() {
                line();
            }
            let every = interval.max(BAR_TICK);
            let thread = std::thread::spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(every)
                {
                    line();
                }
            });
            return Some(ProgressGuard {
                stop: Some(stop),
                thread: Some(thread),
            });
        }
        let thread = std::thread::spawn(move || {
            use std::sync::mpsc::RecvTimeoutError::Timeout;
            if !matches!(wait.recv_timeout(BAR_DELAY), Err(Timeout)) {
                return;
            }
            let cols = terminal_size::terminal_size_of(io::stderr())
                .map_or(80, |(terminal_size::Width(w), _)| usize::from(w));
            // The bar gets what the key and the numbers leave, at least ten cells; the key
            // is shortened in the middle so that the line never wraps.
            let numbers = match unit {
                Counted::ArchiveBytes => {
                    " [] 1023.99 MiB/1023.99 MiB archive 1023.99 MiB/s 59m59s left"
                }
                Counted::FileBytes => " 1023.99 MiB of files read (1023.99 MiB/s)",
            }
            .len();
            let fit = cols.saturating_sub(numbers + 12).max(12);
            let msg = shorten_middle(&escape(&what), fit);
            let template = match (unit, total) {
                (Counted::ArchiveBytes, Some(_)) => {
                    "{msg} [{wide_bar}] {bytes}/{total_bytes} archive {bytes_per_sec} {prefix}"
                }
                _ => "{spinner} {msg} {bytes} of files read ({bytes_per_sec})",
            };
            let bar = indicatif::ProgressBar::with_draw_target(
                total,
                indicatif::ProgressDrawTarget::stderr(),
            )
            .with_style(
                indicatif::ProgressStyle::with_template(template)
                    .expect("the templates above are valid")
                    .progress_chars("=> "),
            )
            .with_message(msg);
            loop {
                let done = counter.get();
                bar.set_position(done);
                if let Some(total) = total {
                    bar.set_prefix(eta(done, total, started.elapsed()));
                }
                if !matches!(wait.recv_timeout(BAR_TICK), Err(Timeout)) {
                    break;
                }
            }
            bar.finish_and_clear();
        });
        Some(ProgressGuard {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Whether `--json` was given: commands then build a document instead of prose.
    pub fn json_mode(&self) -> bool {
        self.json
    }

    /// A line for people about what happened (stderr; silent with `-q`).
    pub fn status(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{}", escape(msg));
        }
    }

    /// Extra detail shown with `-v`.
    pub fn detail(&self, msg: &str) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{}", escape(msg));
        }
    }

    /// Something went wrong but the command goes on (always shown).
    pub fn warn(&self, msg: &str) {
        eprintln!("{}: {}", self.paint("warning", "33"), escape(msg));
    }

    /// A note a store made, at its level.
    pub fn note(&self, note: &crate::store::tiered::Note) {
        use crate::store::tiered::Level;
        match note.level {
            Level::Status => self.status(&note.text),
            Level::Warn => self.warn(&note.text),
            Level::Detail => self.detail(&note.text),
        }
    }

    /// The final error: one line, or the cause chain with `-v`.
    pub fn error(&self, err: &anyhow::Error) {
        if self.verbose > 0 {
            self.error_line(&err.to_string());
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {}", escape(&cause.to_string()));
            }
        } else {
            self.error_line(&format!("{err:#}"));
        }
    }

    /// A final error line of a command that ends with a non-zero code of its own.
    pub fn error_line(&self, msg: &str) {
        eprintln!("{}: {}", self.paint("error", "31"), escape(msg));
    }

    /// The data a command produces: one JSON document (with `--json`) on stdout.
    pub fn json(&self, value: &serde_json::Value) {
        let mut text = json_text(value);
        text.push('\n');
        self.stdout(&text);
    }

    /// [`Printer::json`] for a document serialised straight to stdout (a listing of
    /// thousands of entries, without a [`serde_json::Value`] tree in between).
    pub fn json_doc(&self, value: &impl serde::Serialize) {
        let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
        let result = serde_json::to_writer_pretty(&mut out, value)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(err) = result {
            if err.kind() != io::ErrorKind::BrokenPipe {
                eprintln!("error: cannot write to stdout: {err}");
            }
        }
    }

    /// Plain data on stdout (a hash, a table). A closed pipe is success.
    #[allow(clippy::unused_self, reason = "all printing goes through the Printer")]
    pub fn stdout(&self, text: &str) {
        let mut out = io::stdout().lock();
        let result = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        if let Err(err) = result {
            if err.kind() != io::ErrorKind::BrokenPipe {
                eprintln!("error: cannot write to stdout: {err}");
            }
        }
    }

    /// A table on stdout: a bold header when colour is on, columns padded to fit. Columns
    /// listed in `right` are right-aligned (numbers, sizes). When the output has a width (a
    /// terminal, or `COLUMNS`), the widest text column gives way so that rows fit on one line:
    /// its cells are shortened in the middle, keeping the start and the tail that tells keys
    /// such as `npm-Linux-<hash>` apart.
    pub fn table<T: AsRef<str>, R: AsRef<[T]>>(
        &self,
        headers: &[&str],
        rows: &[R],
        right: &[usize],
    ) {
        // Cells hold keys, paths and names from the store: never raw control characters.
        let mut cells: Vec<Vec<std::borrow::Cow<'_, str>>> = rows
            .iter()
            .map(|r| r.as_ref().iter().map(|c| escape(c.as_ref())).collect())
            .collect();
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width_of(cell));
            }
        }
        // Two spaces between columns, one when that is what it takes to fit.
        let mut gap = 2;
        if let Some(cols) = output_width() {
            let gaps = widths.len().saturating_sub(1);
            let total: usize = widths.iter().sum::<usize>() + 2 * gaps;
            let widest = (0..widths.len())
                .filter(|i| !right.contains(i))
                .max_by_key(|i| widths[*i]);
            if let (true, Some(col)) = (total > cols, widest) {
                let fit = widths[col].saturating_sub(total - cols).max(MIN_SHORTENED);
                widths[col] = fit;
                for row in &mut cells {
                    if let Some(cell) = row.get_mut(col) {
                        if width_of(cell) > fit {
                            *cell = std::borrow::Cow::Owned(shorten_middle(cell, fit));
                        }
                    }
                }
            }
            if widths.iter().sum::<usize>() + 2 * gaps > cols {
                gap = 1;
            }
        }
        let mut text = String::with_capacity(
            (widths.iter().sum::<usize>() + 2 * widths.len() + 1) * (rows.len() + 1),
        );
        let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
            for (i, (cell, w)) in cells.zip(&widths).enumerate() {
                let pad = w.saturating_sub(width_of(cell));
                if i > 0 {
                    push_spaces(out, gap);
                }
                if right.contains(&i) {
                    push_spaces(out, pad);
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    if i + 1 < widths.len() {
                        push_spaces(out, pad);
                    }
                }
            }
            out.push('\n');
        };
        if self.color {
            let mut head = String::new();
            line(&mut head, &mut headers.iter().copied());
            text.push_str(&format!("\x1b[1m{}\x1b[0m\n", head.trim_end()));
        } else {
            line(&mut text, &mut headers.iter().copied());
        }
        for row in &cells {
            line(&mut text, &mut row.iter().map(AsRef::as_ref));
        }
        self.stdout(&text);
    }

    /// The width tables and bars must fit in: `COLUMNS` when set (as `ls` honours it), else
    /// the terminal's; `None` when stdout is neither (a file, a pipe).
    pub fn width(&self) -> Option<usize> {
        output_width()
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// A cell is never shortened below this many characters.
const MIN_SHORTENED: usize = 12;

fn output_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    terminal_size::terminal_size_of(io::stdout()).map(|(terminal_size::Width(w), _)| usize::from(w))
}

fn width_of(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

fn push_spaces(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        left -= k;
    }
}

/// `text` in at most `fit` characters (`fit` ≥ 2): its start, `…`, and its end, the end
/// getting the larger share because that is where keys differ (`npm-Linux-…c2edf8a6`).
pub fn shorten_middle(text: &str, fit: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= fit {
        return text.to_string();
    }
    let keep = fit.saturating_sub(1);
    let head = keep * 2 / 5;
    let tail = keep - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Makes text safe to print on one line of a terminal or CI log: control characters (C0, DEL,
/// C1) become `\n`, `\t`, `\r` or `\xNN` / `\u{NN}`, and the bidirectional overrides that
/// can make a line read as another one become `\u{…}`. A string from an archive, the index,
/// the bucket or the workspace can then neither add a line (a forged `::set-output` or
/// "Restored key …") nor drive the terminal. A backslash stays itself: the output is for
/// people, not meant to be unescaped.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    push_escaped(&mut out, text);
    std::borrow::Cow::Owned(out)
}

/// [`escape`] for bytes that may not be UTF-8 (file names): a byte that is not part of a
/// character becomes `\xNN`.
pub fn escape_bytes(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for chunk in text.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A JSON document, pretty-printed, in which no string can carry a character [`escape`]
/// would escape: serde escapes only C0, so DEL, C1, the line separators and the bidi
/// overrides become `\uXXXX` too (still the same JSON value; all are in the BMP).
pub fn json_text(value: &serde_json::Value) -> String {
    // C0 characters in the text are the printer's own newlines: serde escaped every one
    // inside a string.
    let needs = |c: char| unsafe_char(c) && u32::from(c) >= 0x20;
    let text = serde_json::to_string_pretty(value).expect("a Value always serialises");
    if !text.chars().any(needs) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Control characters (C0, DEL, C1), line and paragraph separators, and the bidirectional
/// overrides and isolates.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && unsafe_char(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn long_cells_keep_their_start_and_tail() {
        let key = "npm-Linux-5f1c0e4b9d2a7c3e8f6b1a0d9c8e7f6a";
        let short = super::shorten_middle(key, 20);
        assert_eq!(short.chars().count(), 20);
        assert_eq!(short, "npm-Lin…1a0d9c8e7f6a");
        assert_eq!(super::shorten_middle("short", 20), "short");
    }

    #[test]
    fn control_characters_cannot_reach_a_log_raw() {
        assert_eq!(escape("plain ☃ text"), "plain ☃ text");
        assert_eq!(
            escape("a\nRestored key 'x'\x1b[31m\r\u{9b}\u{202e}"),
            "a\\nRestored key 'x'\\x1b[31m\\r\\u{9b}\\u{202e}"
        );
        assert_eq!(escape("::set-output\tname=x"), "::set-output\\tname=x");
        assert!(!escape("\x7f\x00").contains(['\x7f', '\x00']));
        assert_eq!(escape("a\u{2028}b"), "a\\u{2028}b");
        assert_eq!(super::escape_bytes(b"ok\xff\n"), "ok\\xff\\n");
        // Escaping twice changes nothing more: messages escaped by a module and again by the
        // printer read the same.
        let once = escape("x\x1b\\y").into_owned();
        assert_eq!(escape(&once), once);
    }

    #[test]
    fn json_carries_no_raw_control_or_bidi_character() {
        let value = serde_json::json!({ "key": "a\u{9b}31m\u{7f}\u{202e}\u{2028}\n" });
        let text = super::json_text(&value);
        assert!(
            !text.contains(['\u{9b}', '\u{7f}', '\u{202e}', '\u{2028}']),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
