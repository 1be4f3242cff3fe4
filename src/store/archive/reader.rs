//! A bounded reader of the tar header stream, for restores and listings.
//!
//! General-purpose tar readers (the `tar` crate among them) read a GNU long name, a long
//! link target or a pax record whole into memory before anyone can look at it: a 33 KB
//! compressed archive can then claim a 1 GiB name and cost gigabytes of memory before a
//! name-length check ever runs. And they happily decode and throw away whatever data a
//! directory or a global pax header claims to have. This reader parses the 512-byte header
//! blocks itself (ustar, GNU and pax, octal and base-256 numbers, the header checksum) and
//! enforces, *before* reading the bytes a header announces:
//!
//! * the size of every header extension: long names and long link targets
//!   ([`MAX_NAME_BYTES`]), local and global pax records ([`MAX_PAX_BYTES`]);
//! * the byte budget: every byte of the decoded stream counts (header blocks, extension
//!   records, padding and every member's data, whatever its type) against the budget the
//!   caller gives ([`Budget`]), which grows by a fixed framing allowance per header.
//!
//! What the reader refuses is reported as a [`Damage`]: the archive's fault, one line that
//! quotes sizes, never the oversized content itself.

use std::io::{self, Read};

/// Longest member name or link target, in bytes (a GNU long name's terminating NUL aside).
pub const MAX_NAME_BYTES: usize = 4096;
/// Most bytes of pax records one header may carry (local `x` or global `g`). Legitimate pax
/// headers hold a path, a link path and a few times; 64 KiB is far above any of them.
pub const MAX_PAX_BYTES: u64 = 64 * 1024;
/// What a header and the padding after its data may take without counting against the
/// recorded size: tar's own framing (one 512-byte block, at most 511 bytes of padding).
const FRAMING_PER_HEADER: u64 = 1024;
/// What a member's own long-name records (pax `path` and `linkpath`, GNU `L` and `K`) may take
/// on top: names up to [`MAX_NAME_BYTES`] are part of the framing, not of the content.
const NAME_RECORDS_ALLOWANCE: u64 = 2 * (MAX_NAME_BYTES as u64 + 512);

const BLOCK: usize = 512;

/// Why the reader stopped: the archive is bad. The text is one line, safe to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage(pub String);

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn damage(msg: impl Into<String>) -> Damage {
    Damage(msg.into())
}

/// The byte budget of one read: the decoded stream may hold `limit` bytes plus
/// [`FRAMING_PER_HEADER`] per header (and each member's long-name records up to
/// [`NAME_RECORDS_ALLOWANCE`]). A claim is charged when its header is read, before any of its
/// bytes are, so a member claiming 32 GiB is refused at once instead of decoded and skipped.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: u64,
    allowance: u64,
    charged: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            allowance: 0,
            charged: 0,
        }
    }

    /// No limit (listing an archive nobody recorded a size for).
    pub fn unlimited() -> Self {
        Self::new(u64::MAX)
    }

    /// Bytes charged so far.
    pub fn charged(&self) -> u64 {
        self.charged
    }

    fn allow(&mut self, bytes: u64) {
        self.allowance = self.allowance.saturating_add(bytes);
    }

    fn charge(&mut self, bytes: u64, what: &dyn Fn() -> String) -> Result<(), Damage> {
        self.charged = self.charged.saturating_add(bytes);
        if self.charged > self.limit.saturating_add(self.allowance) {
            return Err(damage(format!(
                "{} would take the restore past the recorded size ({} bytes); stopped as a \
                 decompression bomb",
                what(),
                self.limit
            )));
        }
        Ok(())
    }
}

/// A member's type, from the header's type flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Regular,
    Directory,
    Symlink,
    HardLink,
    Char,
    Block,
    Fifo,
    /// A type this reader does not interpret (GNU sparse files, volume labels, vendor types).
    Other(u8),
}

impl Kind {
    fn from_flag(flag: u8) -> Self {
        match flag {
            // `\0` is the pre-POSIX regular file, `7` a contiguous file (a regular file too).
            b'0' | b'\0' | b'7' => Kind::Regular,
            b'1' => Kind::HardLink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Directory,
            b'6' => Kind::Fifo,
            other => Kind::Other(other),
        }
    }
}

/// One member: its header with every extension applied.
#[derive(Debug, Clone)]
pub struct Member {
    pub kind: Kind,
    pub name: Vec<u8>,
    /// The link target of a symlink or hard link (empty when the header has none).
    pub link: Vec<u8>,
    /// Bytes of data that follow the header (a pax `size` record overrides the field).
    pub size: u64,
    /// Permission bits, `None` when the field is unreadable.
    pub mode: Option<u32>,
    pub mtime: Option<u64>,
}

/// Extensions read so far for the next member.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Pax>,
}

#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    size: Option<u64>,
    mtime: Option<u64>,
}

/// Reads members from a decoded tar stream; see the module documentation for the bounds.
pub struct Reader<R> {
    inner: R,
    budget: Budget,
    /// Data bytes of the current member not yet read, and the padding after them.
    remaining: u64,
    padding: u64,
    headers: u64,
    max_headers: u64,
    ended: bool,
    /// Scratch space for skipping.
    skip: Vec<u8>,
}

impl<R: Read> Reader<R> {
    /// A reader that refuses the archive past `budget` or past `max_headers` header blocks.
    pub fn new(inner: R, budget: Budget, max_headers: u64) -> Self {
        Self {
            inner,
            budget,
            remaining: 0,
            padding: 0,
            headers: 0,
            max_headers,
            ended: false,
            skip: Vec::new(),
        }
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The stream after the end-of-archive block (for the codec's trailer check).
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The next member, with its extensions applied; `None` at the end of the archive.
    /// Whatever is left of the current member's data is skipped first.
    pub fn next_member(&mut self) -> Result<Option<Member>, Damage> {
        if self.ended {
            return Ok(None);
        }
        self.finish_member()?;
        let mut pending = Pending::default();
        loop {
            let Some(block) = self.read_header()? else {
                if pending.long_name.is_some()
                    || pending.long_link.is_some()
                    || pending.pax.is_some()
                {
                    return Err(damage(
                        "archive is corrupt: a header extension is not followed by a member",
                    ));
                }
                self.ended = true;
                return Ok(None);
            };
            let flag = block[156];
            let size = parse_number(&block[124..136]).ok_or_else(|| {
                damage("archive is corrupt: a header's size field is not a number")
            })?;
            match flag {
                b'L' | b'K' => {
                    let (slot, what) = if flag == b'L' {
                        (&mut pending.long_name, "long name")
                    } else {
                        (&mut pending.long_link, "long link target")
                    };
                    if slot.is_some() {
                        return Err(damage(format!(
                            "archive is corrupt: two GNU {what} records for one member"
                        )));
                    }
                    if size > MAX_NAME_BYTES as u64 + 1 {
                        return Err(damage(format!(
                            "a GNU {what} record of {size} bytes is longer than the \
                             {MAX_NAME_BYTES}-byte limit"
                        )));
                    }
                    self.budget.allow(padded(size).min(NAME_RECORDS_ALLOWANCE));
                    let mut data = self.read_extension(size, what)?;
                    // The name ends at its NUL (GNU tar writes one, some writers more).
                    if let Some(nul) = data.iter().position(|b| *b == 0) {
                        data.truncate(nul);
                    }
                    *slot = Some(data);
                }
                b'x' | b'g' => {
                    let what = if flag == b'x' {
                        "pax header"
                    } else {
                        "global pax header"
                    };
                    if size > MAX_PAX_BYTES {
                        return Err(damage(format!(
                            "a {what} of {size} bytes is larger than the {MAX_PAX_BYTES}-byte limit"
                        )));
                    }
                    if flag == b'x' {
                        if pending.pax.is_some() {
                            return Err(damage(
                                "archive is corrupt: two pax headers for one member",
                            ));
                        }
                        self.budget.allow(padded(size).min(NAME_RECORDS_ALLOWANCE));
                    }
                    let data = self.read_extension(size, what)?;
                    let pax = parse_pax(&data, what)?;
                    // Global records are read (and bounded) but not applied: wit-cache never
                    // writes them, and what they could set (times, owners) is not restored.
                    if flag == b'x' {
                        pending.pax = Some(pax);
                    }
                }
                _ => return self.member(&block, flag, size, pending).map(Some),
            }
        }
    }

    fn member(
        &mut self,
        block: &[u8; BLOCK],
        flag: u8,
        header_size: u64,
        pending: Pending,
    ) -> Result<Member, Damage> {
        let pax = pending.pax.unwrap_or_default();
        let name = match (pax.path, pending.long_name) {
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) => header_name(block),
        };
        if name.len() > MAX_NAME_BYTES {
            return Err(damage(format!(
                "a member name of {} bytes is longer than the {MAX_NAME_BYTES}-byte limit",
                name.len()
            )));
        }
        let link = match (pax.linkpath, pending.long_link) {
            (Some(l), _) | (None, Some(l)) => l,
            (None, None) => until_nul(&block[157..257]).to_vec(),
        };
        if link.len() > MAX_NAME_BYTES {
            return Err(damage(format!(
                "a link target of {} bytes is longer than the {MAX_NAME_BYTES}-byte limit",
                link.len()
            )));
        }
        let size = pax.size.unwrap_or(header_size);
        let kind = Kind::from_flag(flag);
        // Hard links, devices and FIFOs carry no data in any tar dialect; whatever their
        // size field says is still charged (and skipped) below, like any other claim.
        self.claim(size, &|| format!("member '{}'", shown(&name)))?;
        Ok(Member {
            kind,
            name,
            link,
            size,
            mode: parse_number(&block[100..108]).map(|m| (m & 0o7777) as u32),
            mtime: pax.mtime.or_else(|| parse_number(&block[136..148])),
        })
    }

    /// Charges `size` bytes of data plus their padding and makes them the current member's.
    fn claim(&mut self, size: u64, what: &dyn Fn() -> String) -> Result<(), Damage> {
        self.budget.charge(padded(size), what)?;
        self.remaining = size;
        self.padding = padded(size) - size;
        Ok(())
    }

    /// Reads one extension's data (already bounded by the caller), then its padding.
    fn read_extension(&mut self, size: u64, what: &str) -> Result<Vec<u8>, Damage> {
        self.claim(size, &|| format!("a {what}"))?;
        let mut data = vec![0; size as usize];
        self.read_exact_data(&mut data)?;
        self.finish_member()?;
        Ok(data)
    }

    /// Reads the next header block, checked; `None` at an end-of-archive (all-zero) block or
    /// at the end of the stream.
    fn read_header(&mut self) -> Result<Option<[u8; BLOCK]>, Damage> {
        // Charged before it is read, like everything else.
        self.headers += 1;
        if self.headers > self.max_headers {
            return Err(damage(format!(
                "archive has more than {} members",
                self.max_headers
            )));
        }
        self.budget.allow(FRAMING_PER_HEADER);
        self.budget
            .charge(BLOCK as u64, &|| "a header".to_string())?;
        let mut block = [0u8; BLOCK];
        let n = read_full(&mut self.inner, &mut block).map_err(|e| corrupt(&e))?;
        if n == 0 {
            // No end-of-archive blocks at all: GNU tar accepts that with a warning; the
            // digest and the codec's trailer decide whether anything is missing.
            return Ok(None);
        }
        if n < BLOCK {
            return Err(damage("archive is truncated inside a header"));
        }
        if block.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        if !checksum_ok(&block) {
            return Err(damage(
                "archive is corrupt: a header checksum does not match",
            ));
        }
        Ok(Some(block))
    }

    /// Skips what is left of the current member's data and its padding.
    fn finish_member(&mut self) -> Result<(), Damage> {
        let mut left = self.remaining + self.padding;
        self.remaining = 0;
        self.padding = 0;
        if left == 0 {
            return Ok(());
        }
        if self.skip.is_empty() {
            self.skip = vec![0; 64 * 1024];
        }
        while left > 0 {
            let want = left.min(self.skip.len() as u64) as usize;
            let n = read_full(&mut self.inner, &mut self.skip[..want]).map_err(|e| corrupt(&e))?;
            if n < want {
                return Err(damage("archive is truncated inside a member's data"));
            }
            left -= n as u64;
        }
        Ok(())
    }

    fn read_exact_data(&mut self, buf: &mut [u8]) -> Result<(), Damage> {
        let n = read_full(self, buf).map_err(|e| corrupt(&e))?;
        if n < buf.len() {
            return Err(damage("archive is truncated inside a member's data"));
        }
        Ok(())
    }
}

/// Reads the current member's data; ends (0) at the end of the member.
impl<R: Read> Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive is truncated inside a member's data",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

fn corrupt(e: &io::Error) -> Damage {
    damage(format!("archive is corrupt: {e}"))
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    super::hashio::read_full(r, buf)
}

/// `size` rounded up to whole blocks.
fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64)
}

fn until_nul(field: &[u8]) -> &[u8] {
    field
        .iter()
        .position(|b| *b == 0)
        .map_or(field, |n| &field[..n])
}

/// The name in the header itself: ustar's `prefix/name`, or the plain name field (GNU and
/// pre-POSIX headers use the prefix area for other things).
fn header_name(block: &[u8; BLOCK]) -> Vec<u8> {
    let name = until_nul(&block[0..100]);
    let ustar = &block[257..263] == b"ustar\0";
    let prefix = if ustar {
        until_nul(&block[345..500])
    } else {
        &[]
    };
    if prefix.is_empty() {
        name.to_vec()
    } else {
        let mut full = prefix.to_vec();
        full.push(b'/');
        full.extend_from_slice(name);
        full
    }
}

/// The header checksum: the field holds the sum of the block's bytes with the field itself
/// counted as spaces. Historic writers summed signed bytes; both sums are accepted, as GNU
/// tar does.
fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let Some(recorded) = parse_octal(&block[148..156]) else {
        return false;
    };
    let mut unsigned = 0u64;
    let mut signed = 0i64;
    for (i, b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    recorded == unsigned || i64::try_from(recorded).is_ok_and(|r| r == signed)
}

/// A numeric field: octal ASCII (padded with spaces or NULs), or GNU base-256 (high bit of
/// the first byte set) for values that do not fit. Negative base-256 values, digits other
/// than octal ones and values past `u64` are `None`.
pub fn parse_number(field: &[u8]) -> Option<u64> {
    match field.first() {
        Some(0x80) => field[1..].iter().try_fold(0u64, |acc, b| {
            acc.checked_mul(256).map(|v| v | u64::from(*b))
        }),
        Some(b) if b & 0x80 != 0 => None,
        _ => parse_octal(field),
    }
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let digits = until_nul(field);
    let digits = trim(digits);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, b| match b {
        b'0'..=b'7' => acc.checked_mul(8).map(|v| v + u64::from(b - b'0')),
        _ => None,
    })
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' '] = s {
        s = rest;
    }
    s
}

/// Parses pax records, `"<len> <key>=<value>\n"` each, `<len>` counting the whole record.
/// Only the keys a restore uses are kept; a malformed record is damage.
fn parse_pax(mut data: &[u8], what: &str) -> Result<Pax, Damage> {
    let bad = || damage(format!("archive is corrupt: a malformed {what} record"));
    let mut pax = Pax::default();
    while !data.is_empty() {
        // Some writers pad the records with NULs.
        if data.iter().all(|b| *b == 0) {
            break;
        }
        let space = data
            .iter()
            .take(20)
            .position(|b| *b == b' ')
            .ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|b| *b == b'=').ok_or_else(bad)?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"path" => pax.path = Some(value.to_vec()),
            b"linkpath" => pax.linkpath = Some(value.to_vec()),
            b"size" => {
                pax.size = Some(
                    std::str::from_utf8(value)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| {
                            damage(format!(
                                "archive is corrupt: a {what} has a bad size record"
                            ))
                        })?,
                );
            }
            b"mtime" => {
                // Seconds, possibly with a fraction; a time that is not one is ignored.
                let whole = value.split(|b| *b == b'.').next().unwrap_or_default();
                pax.mtime = std::str::from_utf8(whole).ok().and_then(|s| s.parse().ok());
            }
            _ => {}
        }
        data = &data[len..];
    }
    Ok(pax)
}

/// A name as it may appear in a message: lossy UTF-8, cut after 200 characters.
pub fn shown(name: &[u8]) -> String {
    const SHOWN: usize = 200;
    let text = String::from_utf8_lossy(name);
    if text.chars().count() <= SHOWN {
        text.into_owned()
    } else {
        let cut: String = text.chars().take(SHOWN).collect();
        format!("{cut}… ({} bytes)", name.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header block with `name`, `flag` and `size`, ustar magic and a valid checksum.
    fn header(name: &[u8], flag: u8, size: u64) -> Vec<u8> {
        let mut b = vec![0u8; BLOCK];
        b[..name.len()].copy_from_slice(name);
        b[100..107].copy_from_slice(b"0000644");
        if size < 8u64.pow(11) {
            b[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        } else {
            // GNU base-256, as tar writes sizes of 8 GiB and more.
            b[124] = 0x80;
            b[128..136].copy_from_slice(&size.to_be_bytes());
        }
        b[136..147].copy_from_slice(b"00000000001");
        b[156] = flag;
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        seal(&mut b);
        b
    }

    fn seal(b: &mut [u8]) {
        b[148..156].fill(b' ');
        let sum: u64 = b.iter().map(|x| u64::from(*x)).sum();
        b[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    }

    fn member(out: &mut Vec<u8>, name: &[u8], flag: u8, data: &[u8]) {
        out.extend(header(name, flag, data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }

    /// One pax record, its length prefix counting itself.
    fn rec(key: &str, value: &str) -> String {
        let body = key.len() + value.len() + 3;
        let mut len = body + body.to_string().len();
        if len.to_string().len() != body.to_string().len() {
            len = body + len.to_string().len();
        }
        format!("{len} {key}={value}\n")
    }

    fn end(out: &mut Vec<u8>) {
        out.extend(vec![0u8; 2 * BLOCK]);
    }

    fn read_all(tar: &[u8], budget: u64) -> Result<Vec<(Member, Vec<u8>)>, Damage> {
        let mut r = Reader::new(tar, Budget::new(budget), 1000);
        let mut out = Vec::new();
        while let Some(m) = r.next_member()? {
            let mut data = Vec::new();
            r.read_to_end(&mut data).map_err(|e| corrupt(&e))?;
            out.push((m, data));
        }
        Ok(out)
    }

    #[test]
    fn reads_what_the_tar_crate_writes() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o755);
        h.set_mtime(1_600_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        let long = format!("0/{}", "d/".repeat(200)) + "f";
        b.append_data(&mut h, &long, &b"hello"[..]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "0/link", "x".repeat(300)).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        b.append_data(&mut h, format!("{}/dir", "p".repeat(120)), io::empty())
            .unwrap();
        let tar = b.into_inner().unwrap();
        let got = read_all(&tar, 1 << 20).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0.name, long.as_bytes());
        assert_eq!(got[0].0.kind, Kind::Regular);
        assert_eq!(got[0].0.mode, Some(0o755));
        assert_eq!(got[0].0.mtime, Some(1_600_000_000));
        assert_eq!(got[0].1, b"hello");
        assert_eq!(got[1].0.kind, Kind::Symlink);
        assert_eq!(got[1].0.link, "x".repeat(300).as_bytes());
        assert_eq!(got[2].0.kind, Kind::Directory);
        assert_eq!(got[2].0.name, format!("{}/dir", "p".repeat(120)).as_bytes());
    }

    #[test]
    fn pax_records_override_the_header() {
        let mut tar = Vec::new();
        let records = [
            rec("path", "0/dep/long"),
            rec("linkpath", "ab"),
            rec("size", "3"),
            rec("mtime", "1700000.5"),
        ]
        .concat();
        member(&mut tar, b"PaxHeaders/x", b'x', records.as_bytes());
        let mut h = header(b"short", b'0', 0);
        seal(&mut h);
        tar.extend(h);
        tar.extend(b"abc");
        tar.resize(tar.len().div_ceil(BLOCK) * BLOCK, 0);
        end(&mut tar);
        let got = read_all(&tar, 1 << 20).unwrap();
        assert_eq!(got[0].0.name, b"0/dep/long");
        assert_eq!(got[0].0.link, b"ab");
        assert_eq!(got[0].0.size, 3);
        assert_eq!(got[0].0.mtime, Some(1_700_000));
        assert_eq!(got[0].1, b"abc");
    }

    #[test]
    fn extensions_past_their_bound_are_refused_before_they_are_read() {
        for (flag, what) in [
            (b'L', "long name"),
            (b'K', "long link"),
            (b'x', "pax header"),
            (b'g', "global pax header"),
        ] {
            // Only the header: the claimed data is never there, and never read.
            let mut tar = header(b"././@LongLink", flag, 1 << 30);
            end(&mut tar);
            let err = read_all(&tar, u64::MAX).unwrap_err();
            assert!(err.0.contains(what), "{}", err.0);
            assert!(err.0.contains("1073741824 bytes"), "{}", err.0);
        }
        // A name at the limit is fine, one byte over is not.
        for (len, ok) in [(MAX_NAME_BYTES, true), (MAX_NAME_BYTES + 1, false)] {
            let mut tar = Vec::new();
            let mut name = vec![b'a'; len];
            name.push(0);
            member(&mut tar, b"././@LongLink", b'L', &name);
            member(&mut tar, b"x", b'0', b"");
            end(&mut tar);
            assert_eq!(read_all(&tar, 1 << 20).is_ok(), ok, "{len}");
        }
        // A pax path past the name limit, inside a pax header that is itself allowed.
        let mut tar = Vec::new();
        let value = "a".repeat(5000);
        let record = rec("path", &value);
        member(&mut tar, b"PaxHeaders/x", b'x', record.as_bytes());
        member(&mut tar, b"x", b'0', b"");
        end(&mut tar);
        let err = read_all(&tar, 1 << 20).unwrap_err();
        assert!(err.0.contains("member name of 5000 bytes"), "{}", err.0);
        assert!(!err.0.contains("aaaa"), "never the name itself");
    }

    #[test]
    fn every_claim_counts_against_the_budget() {
        // A directory claiming 32 GiB: refused at its header.
        let mut tar = header(b"0/dep/", b'5', 32 << 30);
        end(&mut tar);
        let err = read_all(&tar, 1 << 20).unwrap_err();
        assert!(err.0.contains("decompression bomb"), "{}", err.0);
        assert!(err.0.contains("0/dep/"), "{}", err.0);
        // Global pax headers within their bound, again and again.
        let mut tar = Vec::new();
        let record = rec("comment", &"c".repeat(60_000));
        for _ in 0..40 {
            member(&mut tar, b"g", b'g', record.as_bytes());
        }
        end(&mut tar);
        let err = read_all(&tar, 1 << 20).unwrap_err();
        assert!(err.0.contains("global pax header"), "{}", err.0);
        // Many small files cost only their framing.
        let mut tar = Vec::new();
        for i in 0..500 {
            member(&mut tar, format!("0/f{i}").as_bytes(), b'0', b"x");
        }
        end(&mut tar);
        assert_eq!(read_all(&tar, 500).unwrap().len(), 500);
    }

    #[test]
    fn numbers_and_checksums() {
        assert_eq!(parse_number(b"0000644\0"), Some(0o644));
        assert_eq!(parse_number(b"   644 \0"), Some(0o644));
        assert_eq!(parse_number(b"\0\0\0\0"), None);
        assert_eq!(parse_number(b"0009\0"), None);
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[4..].copy_from_slice(&(40u64 << 30).to_be_bytes());
        assert_eq!(parse_number(&big), Some(40 << 30));
        big[0] = 0xff;
        assert_eq!(parse_number(&big), None, "negative");
        let mut over = [0xffu8; 12];
        over[0] = 0x80;
        assert_eq!(parse_number(&over), None, "past u64");
        assert_eq!(parse_number(b"77777777777777777777777"), None);

        let mut tar = header(b"0/dep/f", b'0', 0);
        tar[0] = b'1';
        end(&mut tar);
        let err = read_all(&tar, 1 << 20).unwrap_err();
        assert!(err.0.contains("checksum"), "{}", err.0);
    }

    #[test]
    fn truncation_and_stray_extensions_are_damage() {
        let mut tar = header(b"0/dep/f", b'0', 100);
        tar.extend(b"short");
        assert!(read_all(&tar, 1 << 20).is_err());
        let mut tar = Vec::new();
        member(&mut tar, b"././@LongLink", b'L', b"0/dep/x\0");
        end(&mut tar);
        let err = read_all(&tar, 1 << 20).unwrap_err();
        assert!(err.0.contains("not followed by a member"), "{}", err.0);
        let mut tar = Vec::new();
        member(&mut tar, b"././@LongLink", b'L', b"a\0");
        member(&mut tar, b"././@LongLink", b'L', b"b\0");
        member(&mut tar, b"x", b'0', b"");
        assert!(read_all(&tar, 1 << 20).unwrap_err().0.contains("two GNU"));
        let mut tar = Vec::new();
        member(&mut tar, b"p", b'x', b"5 pa\n");
        member(&mut tar, b"x", b'0', b"");
        assert!(read_all(&tar, 1 << 20).unwrap_err().0.contains("malformed"));
        assert!(read_all(&[1u8; 100], 1 << 20).is_err());
        assert!(read_all(&[], 1 << 20).unwrap().is_empty());
    }

    /// Nothing is read from the stream before it is charged: whatever the input, the bytes
    /// consumed never exceed the bytes charged.
    #[test]
    fn nothing_is_read_before_it_is_charged() {
        let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![7; 100], vec![0; 5000]];
        let mut t = header(b"0/dep/", b'5', 1 << 40);
        t.extend(vec![0; 4096]);
        inputs.push(t);
        let mut t = Vec::new();
        member(&mut t, b"0/f", b'0', &[1; 3000]);
        t.truncate(2000);
        inputs.push(t);
        for input in inputs {
            for limit in [0, 100, 1 << 20] {
                let mut counted = CountingReader {
                    data: &input,
                    read: 0,
                };
                let mut r = Reader::new(&mut counted, Budget::new(limit), 1000);
                while let Ok(Some(_)) = r.next_member() {}
                let charged = r.budget().charged();
                drop(r);
                assert!(counted.read <= charged, "{} > {charged}", counted.read);
            }
        }
    }

    struct CountingReader<'a> {
        data: &'a [u8],
        read: u64,
    }

    impl Read for CountingReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn shown_names_are_cut() {
        assert_eq!(shown(b"abc"), "abc");
        let long = shown(&[b'a'; 5000]);
        assert!(long.len() < 300 && long.ends_with("(5000 bytes)"), "{long}");
    }
}
