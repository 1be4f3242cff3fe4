//! The tar stream an entry in the cas format restores as: the same members, headers and
//! names the archive format writes, so the archive format's extractor restores it and GNU
//! tar reads it (`export`). The save hashes this stream without writing it; a restore
//! writes it into the extractor. Both go through [`TarStream`], so the bytes agree.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt as _;

use tar::{EntryType, Header};

use super::manifest::{Kind, Member};

/// Writes members' headers, their data and the end-of-archive blocks to `W`.
pub struct TarStream<W: Write> {
    pub inner: W,
}

impl<W: Write> TarStream<W> {
    pub fn new(inner: W) -> Self {
        Self { inner }
    }

    /// The member's header (and a pax header before it for a long name or target).
    pub fn header(&mut self, m: &Member) -> io::Result<()> {
        self.inner.write_all(&header_bytes(m)?)
    }

    pub fn data(&mut self, data: &[u8]) -> io::Result<()> {
        self.inner.write_all(data)
    }

    /// Pads a file's data of `size` bytes to the next 512-byte block.
    pub fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (512 - size % 512) % 512;
        self.inner.write_all(&[0u8; 512][..rem as usize])
    }

    /// The two zero blocks that end an archive.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&[0u8; 1024])?;
        Ok(self.inner)
    }
}

/// The header blocks of a member, exactly as the archive format's pack writes them.
fn header_bytes(m: &Member) -> io::Result<Vec<u8>> {
    let mut header = Header::new_ustar();
    header.set_mode(m.mode & 0o7777);
    header.set_mtime(m.mtime);
    header.set_uid(0);
    header.set_gid(0);
    let mut builder = tar::Builder::new(Vec::new());
    let mut name = m.name.clone();
    match &m.kind {
        Kind::Dir => {
            header.set_entry_type(EntryType::Directory);
            header.set_size(0);
            name.push(b'/');
            crate::store::archive::append(&mut builder, &mut header, &name, None, io::empty())?;
        }
        Kind::File { size, .. } => {
            header.set_entry_type(EntryType::Regular);
            header.set_size(*size);
            crate::store::archive::append(&mut builder, &mut header, &name, None, io::empty())?;
        }
        Kind::Symlink { target } => {
            header.set_entry_type(EntryType::Symlink);
            header.set_size(0);
            crate::store::archive::append(
                &mut builder,
                &mut header,
                &name,
                Some(std::ffi::OsStr::from_bytes(target).as_bytes()),
                io::empty(),
            )?;
        }
    }
    let bytes = builder.get_ref().clone();
    // The builder writes its end-of-archive blocks into its own buffer when dropped.
    drop(builder);
    Ok(bytes)
}
