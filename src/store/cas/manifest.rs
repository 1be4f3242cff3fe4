//! The manifest of an entry in the cas format: its tree, and where each blob of it is.
//!
//! Encoding (before zstd): `WITCAS1\n`, the SHA-256 of the tar stream the entry restores as,
//! then the pack table, the blob table and the members, with LEB128 varints for numbers and
//! lengths and raw 32-byte hashes. [`parse`] trusts nothing: every count, length and index is
//! checked against its limit and against what is left of the input before anything is
//! allocated, so a hostile manifest is an error, never a panic or a large allocation.

use std::io::Read as _;

use super::{CHUNK, MAX_FRAME_RAW};

const MAGIC: &[u8; 8] = b"WITCAS1\n";
/// Largest manifest a restore decompresses (10 million members fit).
pub const MAX_MANIFEST_RAW: u64 = 1 << 30;
const MAX_NAME: usize = 4096;
const MAX_MEMBERS: u64 = crate::store::entry::MAX_FILES;
/// Most blobs one manifest may refer to (a 1 TiB entry in 2 MiB chunks, plus small files).
const MAX_BLOBS: u64 = 20_000_000;
const MAX_PACKS: u64 = 10_000_000;

pub type Hash = [u8; 32];

/// Where a blob is: a frame of a pack, and a range of the frame's decompressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blob {
    pub hash: Hash,
    /// Index into [`Manifest::packs`].
    pub pack: u32,
    pub frame_offset: u64,
    pub frame_len: u32,
    pub offset: u32,
    pub len: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    /// A regular file: its size and its content as blobs (indexes into [`Manifest::blobs`]).
    File {
        size: u64,
        blobs: Vec<u32>,
    },
    Symlink {
        target: Vec<u8>,
    },
}

/// One member, named as the archive format names it (`<path line>/<relative path>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: Vec<u8>,
    pub mode: u32,
    pub mtime: u64,
    pub kind: Kind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// SHA-256 of the tar stream the members and blobs make ([`super::stream`]).
    pub stream_digest: Hash,
    /// Pack names (the SHA-256 of each pack file).
    pub packs: Vec<Hash>,
    pub blobs: Vec<Blob>,
    pub members: Vec<Member>,
}

fn put(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put(out, b.len() as u64);
    out.extend_from_slice(b);
}

impl Manifest {
    /// The uncompressed encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.blobs.len() * 48 + self.members.len() * 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.stream_digest);
        put(&mut out, self.packs.len() as u64);
        for p in &self.packs {
            out.extend_from_slice(p);
        }
        put(&mut out, self.blobs.len() as u64);
        for b in &self.blobs {
            out.extend_from_slice(&b.hash);
            put(&mut out, u64::from(b.pack));
            put(&mut out, b.frame_offset);
            put(&mut out, u64::from(b.frame_len));
            put(&mut out, u64::from(b.offset));
            put(&mut out, u64::from(b.len));
        }
        put(&mut out, self.members.len() as u64);
        for m in &self.members {
            let kind = match m.kind {
                Kind::Dir => 0,
                Kind::File { .. } => 1,
                Kind::Symlink { .. } => 2,
            };
            out.push(kind);
            put_bytes(&mut out, &m.name);
            put(&mut out, u64::from(m.mode));
            put(&mut out, m.mtime);
            match &m.kind {
                Kind::Dir => {}
                Kind::File { size, blobs } => {
                    put(&mut out, *size);
                    put(&mut out, blobs.len() as u64);
                    for b in blobs {
                        put(&mut out, u64::from(*b));
                    }
                }
                Kind::Symlink { target } => put_bytes(&mut out, target),
            }
        }
        out
    }

    /// The stored form: the encoding, zstd-compressed.
    pub fn to_file_bytes(&self) -> std::io::Result<Vec<u8>> {
        zstd::bulk::compress(&self.encode(), 9)
    }

    /// Every regular file's size, summed.
    pub fn unpacked_bytes(&self) -> u64 {
        self.members
            .iter()
            .map(|m| match m.kind {
                Kind::File { size, .. } => size,
                _ => 0,
            })
            .sum()
    }
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err(format!("manifest ends inside {what}"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn hash(&mut self, what: &str) -> Result<Hash, String> {
        let b = self.take(32, what)?;
        Ok(b.try_into().expect("32 bytes taken"))
    }

    fn num(&mut self, what: &str, max: u64) -> Result<u64, String> {
        let mut n = 0u64;
        for i in 0..10 {
            let b = *self.take(1, what)?.first().expect("one byte taken");
            let part = u64::from(b & 0x7f);
            if i == 9 && part > 1 {
                return Err(format!("{what} does not fit 64 bits"));
            }
            n |= part << (7 * i);
            if b & 0x80 == 0 {
                // One encoding per number: a manifest that parses re-encodes to its bytes.
                if i > 0 && b == 0 {
                    return Err(format!("{what} is not minimally encoded"));
                }
                if n > max {
                    return Err(format!("{what} {n} is out of range (at most {max})"));
                }
                return Ok(n);
            }
        }
        Err(format!("{what} does not fit 64 bits"))
    }

    /// A count of items, each at least `min_size` bytes: never more than the input can hold.
    fn count(&mut self, what: &str, max: u64, min_size: usize) -> Result<usize, String> {
        let n = self.num(what, max)?;
        if n > (self.rest.len() / min_size.max(1)) as u64 {
            return Err(format!("{what} {n} is more than the manifest holds"));
        }
        Ok(n as usize)
    }

    fn bytes(&mut self, what: &str, max: usize) -> Result<Vec<u8>, String> {
        let n = self.num(what, max as u64)? as usize;
        Ok(self.take(n, what)?.to_vec())
    }
}

/// Parses an uncompressed manifest.
pub fn parse_raw(data: &[u8]) -> Result<Manifest, String> {
    let mut c = Cursor { rest: data };
    if c.take(MAGIC.len(), "the header")? != MAGIC {
        return Err("not a wit-cache manifest (bad magic)".into());
    }
    let stream_digest = c.hash("the stream digest")?;
    let n = c.count("pack count", MAX_PACKS, 32)?;
    let mut packs = Vec::with_capacity(n);
    for _ in 0..n {
        packs.push(c.hash("a pack name")?);
    }
    let n = c.count("blob count", MAX_BLOBS, 37)?;
    let mut blobs = Vec::with_capacity(n);
    for _ in 0..n {
        let hash = c.hash("a blob hash")?;
        let pack = c.num("a blob's pack", packs.len().saturating_sub(1) as u64)?;
        if packs.is_empty() {
            return Err("a blob refers to a pack but there are none".into());
        }
        let frame_offset = c.num("a frame offset", crate::store::entry::MAX_ENTRY_BYTES)?;
        let frame_len = c.num("a frame length", MAX_FRAME_RAW as u64 * 2)?;
        let offset = c.num("a blob offset", MAX_FRAME_RAW as u64)?;
        let len = c.num("a blob length", CHUNK as u64)?;
        if offset + len > MAX_FRAME_RAW as u64 {
            return Err(format!(
                "a blob ends past the largest frame ({MAX_FRAME_RAW} bytes)"
            ));
        }
        blobs.push(Blob {
            hash,
            pack: pack as u32,
            frame_offset,
            frame_len: frame_len as u32,
            offset: offset as u32,
            len: len as u32,
        });
    }
    let n = c.count("member count", MAX_MEMBERS, 4)?;
    let mut members = Vec::with_capacity(n);
    let max_blob = blobs.len().saturating_sub(1) as u64;
    for _ in 0..n {
        let kind = *c.take(1, "a member kind")?.first().expect("one byte");
        let name = c.bytes("a member name", MAX_NAME)?;
        if name.is_empty() {
            return Err("a member has an empty name".into());
        }
        let mode = c.num("a mode", 0o7777)? as u32;
        let mtime = c.num("an mtime", u64::from(u32::MAX) * 4)?;
        let kind = match kind {
            0 => Kind::Dir,
            1 => {
                let size = c.num("a file size", crate::store::entry::MAX_ENTRY_BYTES)?;
                let k = c.count("a file's blob count", MAX_BLOBS, 1)?;
                if k > 0 && blobs.is_empty() {
                    return Err("a file refers to blobs but there are none".into());
                }
                let mut list = Vec::with_capacity(k);
                let mut total = 0u64;
                for _ in 0..k {
                    let b = c.num("a blob index", max_blob)? as u32;
                    total += u64::from(blobs[b as usize].len);
                    list.push(b);
                }
                if total != size {
                    return Err(format!(
                        "a file of {size} bytes is made of blobs of {total} bytes"
                    ));
                }
                Kind::File { size, blobs: list }
            }
            2 => Kind::Symlink {
                target: c.bytes("a symlink target", MAX_NAME)?,
            },
            k => return Err(format!("unknown member kind {k}")),
        };
        members.push(Member {
            name,
            mode,
            mtime,
            kind,
        });
    }
    if !c.rest.is_empty() {
        return Err(format!("{} bytes follow the last member", c.rest.len()));
    }
    Ok(Manifest {
        stream_digest,
        packs,
        blobs,
        members,
    })
}

/// Parses a stored (zstd-compressed) manifest.
pub fn parse(file_bytes: &[u8]) -> Result<Manifest, String> {
    let mut raw = Vec::new();
    zstd::stream::read::Decoder::new(file_bytes)
        .and_then(|d| d.take(MAX_MANIFEST_RAW + 1).read_to_end(&mut raw))
        .map_err(|e| format!("manifest does not decompress: {e}"))?;
    if raw.len() as u64 > MAX_MANIFEST_RAW {
        return Err(format!("manifest is larger than {MAX_MANIFEST_RAW} bytes"));
    }
    parse_raw(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let blob = |n: u8, len: u32| Blob {
            hash: [n; 32],
            pack: 0,
            frame_offset: 300,
            frame_len: 1000,
            offset: 7,
            len,
        };
        Manifest {
            stream_digest: [9; 32],
            packs: vec![[1; 32]],
            blobs: vec![blob(1, 5), blob(2, CHUNK as u32)],
            members: vec![
                Member {
                    name: b"0/dir".to_vec(),
                    mode: 0o755,
                    mtime: 1,
                    kind: Kind::Dir,
                },
                Member {
                    name: b"0/dir/f".to_vec(),
                    mode: 0o644,
                    mtime: 1_700_000_000,
                    kind: Kind::File {
                        size: 5 + CHUNK as u64,
                        blobs: vec![0, 1],
                    },
                },
                Member {
                    name: b"0/l".to_vec(),
                    mode: 0o777,
                    mtime: 2,
                    kind: Kind::Symlink {
                        target: b"dir/f".to_vec(),
                    },
                },
            ],
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        assert_eq!(parse(&m.to_file_bytes().unwrap()).unwrap(), m);
        assert_eq!(m.unpacked_bytes(), 5 + CHUNK as u64);
    }

    #[test]
    fn every_truncation_and_lie_is_an_error() {
        let raw = sample().encode();
        for n in 0..raw.len() {
            assert!(parse_raw(&raw[..n]).is_err(), "cut at {n}");
        }
        let mut more = raw.clone();
        more.push(0);
        assert!(parse_raw(&more).unwrap_err().contains("follow"));
        let mut m = sample();
        m.members[1].kind = Kind::File {
            size: 6,
            blobs: vec![0],
        };
        assert!(parse_raw(&m.encode())
            .unwrap_err()
            .contains("made of blobs"));
        let mut m = sample();
        m.blobs[0].pack = 1;
        assert!(parse_raw(&m.encode()).unwrap_err().contains("pack"));
        // A count far beyond the input allocates nothing.
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&[0; 32]);
        put(&mut huge, MAX_PACKS);
        assert!(parse_raw(&huge).unwrap_err().contains("more than"));
    }

    /// What the fuzz target checks, on every one-byte change of a sample: no panic, and
    /// whatever parses has exactly these bytes as its encoding.
    #[test]
    fn one_byte_changes_never_panic_and_what_parses_is_canonical() {
        let raw = sample().encode();
        for i in 0..raw.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff, raw[i] ^ 1] {
                let mut m = raw.clone();
                m[i] = v;
                if let Ok(parsed) = parse_raw(&m) {
                    assert_eq!(parsed.encode(), m, "byte {i} = {v}");
                }
            }
        }
    }
}
