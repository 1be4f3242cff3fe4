//! The codec table: the one place a compression format is added.
//!
//! Everything that depends on the codec — its name in the index and in `--compression`, the
//! archive file extension (local and in the shared store), which levels it takes, how a
//! stream is encoded and decoded — is derived from [`CODECS`]. Adding a codec is one row
//! here plus its arms in [`Encoder`] and [`Decoder`], which the compiler asks for.

use std::io::{self, BufRead, Read, Write};
use std::ops::RangeInclusive;

/// Largest zstd window a restore accepts (2^27 = 128 MiB, zstd's own default cap): a hostile
/// frame cannot make the decoder allocate more.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Bytes per zstd compression job: zstd's own job size at level 3 is 8 MiB, and it keeps a
/// few jobs' input and output in memory per worker; 4 MiB jobs keep a save well under 100 MB
/// of memory at the same ratio (jobs overlap their windows).
const ZSTD_JOB_SIZE: u32 = 4 << 20;

/// A compression format of archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Zstd,
    Gzip,
    None,
}

/// What the rest of the program knows about a codec.
#[derive(Debug)]
pub struct CodecSpec {
    pub codec: Codec,
    /// Its name in `--compression`, the index and the shared store's metadata.
    pub name: &'static str,
    /// The archive file's extension, after the archive id.
    pub extension: &'static str,
    /// Levels `--level` accepts; `None` for a codec without levels.
    pub levels: Option<RangeInclusive<i32>>,
    pub default_level: i32,
}

/// Every codec, the default first.
pub const CODECS: &[CodecSpec] = &[
    CodecSpec {
        codec: Codec::Zstd,
        name: "zstd",
        extension: "tar.zst",
        levels: Some(1..=19),
        default_level: 3,
    },
    CodecSpec {
        codec: Codec::Gzip,
        name: "gzip",
        extension: "tar.gz",
        levels: Some(0..=9),
        default_level: 6,
    },
    CodecSpec {
        codec: Codec::None,
        name: "none",
        extension: "tar",
        levels: None,
        default_level: 0,
    },
];

impl Codec {
    pub fn spec(self) -> &'static CodecSpec {
        CODECS
            .iter()
            .find(|s| s.codec == self)
            .expect("every codec has a row in CODECS")
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn extension(self) -> &'static str {
        self.spec().extension
    }

    pub fn from_name(name: &str) -> Option<Self> {
        CODECS.iter().find(|s| s.name == name).map(|s| s.codec)
    }

    /// The codec whose archives end in `extension` (`tar.zst`).
    pub fn from_extension(extension: &str) -> Option<Self> {
        CODECS
            .iter()
            .find(|s| s.extension == extension)
            .map(|s| s.codec)
    }

    /// Every codec's name, for `--compression`'s possible values.
    pub fn names() -> impl Iterator<Item = &'static str> {
        CODECS.iter().map(|s| s.name)
    }

    /// Checks a `--level`; the error names the rule.
    pub fn check_level(self, level: Option<i32>) -> Result<(), String> {
        let spec = self.spec();
        match (level, &spec.levels) {
            (None, _) => Ok(()),
            (Some(l), Some(range)) if range.contains(&l) => Ok(()),
            (Some(l), Some(range)) => Err(format!(
                "--level {l} is out of range: {} levels are {} to {}",
                spec.name,
                range.start(),
                range.end()
            )),
            (Some(l), None) => Err(format!(
                "--level {l} needs a compression: --compression {} has no levels",
                spec.name
            )),
        }
    }
}

/// A compressing writer for one of the codecs.
pub enum Encoder<W: Write> {
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Gzip(flate2::write::GzEncoder<W>),
    None(W),
}

impl<W: Write> Encoder<W> {
    pub fn new(w: W, codec: Codec, level: Option<i32>) -> io::Result<Self> {
        let level = level.unwrap_or(codec.spec().default_level);
        Ok(match codec {
            Codec::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(w, level)?;
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
                enc.multithread(threads)?;
                enc.set_parameter(zstd::zstd_safe::CParameter::JobSize(ZSTD_JOB_SIZE))?;
                enc.include_checksum(true)?;
                Encoder::Zstd(enc)
            }
            Codec::Gzip => {
                let level = flate2::Compression::new(level as u32);
                Encoder::Gzip(flate2::write::GzEncoder::new(w, level))
            }
            Codec::None => Encoder::None(w),
        })
    }

    /// Writes the codec's trailer and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Zstd(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::None(w) => Ok(w),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Zstd(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::None(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Zstd(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::None(w) => w.flush(),
        }
    }
}

/// A decompressing reader for one of the codecs, with the decoder's memory bounded.
pub enum Decoder<R: BufRead> {
    Zstd(zstd::stream::read::Decoder<'static, R>),
    Gzip(flate2::bufread::MultiGzDecoder<R>),
    None(R),
}

impl<R: BufRead> Decoder<R> {
    pub fn new(r: R, codec: Codec) -> io::Result<Self> {
        Ok(match codec {
            Codec::Zstd => {
                let mut d = zstd::stream::read::Decoder::with_buffer(r)?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Decoder::Zstd(d)
            }
            Codec::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(r)),
            Codec::None => Decoder::None(r),
        })
    }

    /// The underlying reader, positioned after what the decoder consumed.
    pub fn into_inner(self) -> R {
        match self {
            Decoder::Zstd(d) => d.finish(),
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::None(r) => r,
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::None(r) => r.read(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        for spec in CODECS {
            assert_eq!(Codec::from_name(spec.name), Some(spec.codec));
            assert_eq!(Codec::from_extension(spec.extension), Some(spec.codec));
            assert_eq!(spec.codec.spec().name, spec.name);
            if let Some(levels) = &spec.levels {
                assert!(levels.contains(&spec.default_level), "{}", spec.name);
            }
        }
        assert_eq!(Codec::from_name("lz4"), None);
        assert_eq!(Codec::from_extension("tar.lz4"), None);
    }

    #[test]
    fn levels_are_checked_per_codec() {
        assert!(Codec::Zstd.check_level(Some(19)).is_ok());
        assert!(Codec::Zstd
            .check_level(Some(42))
            .unwrap_err()
            .contains("zstd levels are 1 to 19"));
        assert!(Codec::None
            .check_level(Some(1))
            .unwrap_err()
            .contains("no levels"));
        assert!(Codec::Gzip.check_level(None).is_ok());
    }

    #[test]
    fn every_codec_round_trips() {
        for spec in CODECS {
            let mut enc = Encoder::new(Vec::new(), spec.codec, None).unwrap();
            enc.write_all(b"hello, archive").unwrap();
            let packed = enc.finish().unwrap();
            let mut out = String::new();
            Decoder::new(packed.as_slice(), spec.codec)
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, "hello, archive", "{}", spec.name);
        }
    }
}
