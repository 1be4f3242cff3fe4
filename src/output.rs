//! The only place that prints: human text and warnings on stderr, data on stdout.
//!
//! With `--json`, stdout carries exactly one JSON document and nothing else; `-q` silences
//! everything but warnings and errors; colour is used only on a terminal, never with `NO_COLOR`
//! or `--color never`. A closed stdout (`wit-cache list | head`) is not an error.

use std::io::{self, IsTerminal, Write};

use crate::cli::{ColorChoice, GlobalArgs};
use crate::store::archive::Progress;

pub struct Printer {
    json: bool,
    quiet: bool,
    verbose: u8,
    color: bool,
}

/// Below this many bytes a save or restore is over too soon for a bar to help.
const BAR_THRESHOLD: u64 = 8 << 20;

/// Draws a progress bar from a [`Progress`] counter until dropped.
pub struct ProgressGuard {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
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

    /// A progress bar for `what`, fed by `counter` (of `total` bytes when known), drawn on
    /// stderr once the work is big enough to be worth watching; it goes away when the guard
    /// is dropped. Nothing at all when nobody is watching.
    pub fn progress(
        &self,
        what: &str,
        total: Option<u64>,
        counter: &Progress,
    ) -> Option<ProgressGuard> {
        use std::sync::atomic::{AtomicBool, Ordering};
        // Only for a person watching: stderr is a terminal, no `--json`, no `-q`.
        if self.json || self.quiet || !io::stderr().is_terminal() {
            return None;
        }
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (flag, counter, what) = (stop.clone(), counter.clone(), what.to_string());
        let thread = std::thread::spawn(move || {
            let mut bar: Option<indicatif::ProgressBar> = None;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let done = counter.get();
                if bar.is_none() && total.unwrap_or(done).max(done) >= BAR_THRESHOLD {
                    let style = match total {
                        Some(_) => "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                        None => "{spinner} {msg} {bytes} read ({bytes_per_sec})",
                    };
                    let b = indicatif::ProgressBar::with_draw_target(
                        total,
                        indicatif::ProgressDrawTarget::stderr(),
                    )
                    .with_style(
                        indicatif::ProgressStyle::with_template(style)
                            .expect("the templates above are valid")
                            .progress_chars("=> "),
                    )
                    .with_message(what.clone());
                    bar = Some(b);
                }
                if let Some(b) = &bar {
                    b.set_position(done);
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Some(ProgressGuard {
            stop,
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
        let mut text = serde_json::to_string_pretty(value).expect("a Value always serialises");
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
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>], right: &[usize]) {
        // Cells hold keys, paths and names from the store: never raw control characters.
        let mut cells: Vec<Vec<std::borrow::Cow<'_, str>>> = rows
            .iter()
            .map(|r| r.iter().map(|c| escape(c)).collect())
            .collect();
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width_of(cell));
            }
        }
        if let Some(cols) = output_width() {
            let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
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
        }
        let mut text = String::with_capacity(
            (widths.iter().sum::<usize>() + 2 * widths.len() + 1) * (rows.len() + 1),
        );
        let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
            for (i, (cell, w)) in cells.zip(&widths).enumerate() {
                let pad = w.saturating_sub(width_of(cell));
                if i > 0 {
                    out.push_str("  ");
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
}
