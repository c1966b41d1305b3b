//! IDX files (the MNIST format), gzipped or plain: a big-endian magic
//! `0x0000 08 NN` (unsigned bytes, NN dimensions), NN u32 sizes, then the data.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Dimensions and raw bytes of an IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads an IDX file; `.gz` content is recognised by its magic bytes, not its name.
pub fn read_idx(path: &Path, key: &str) -> Result<IdxArray> {
    let raw = std::fs::read(path)
        .map_err(|e| Error::data(path, format!("cannot read the file named by `{key}`: {e}")))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::data(path, format!("`{key}`: not a valid gzip file: {e}")))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).map_err(|m| Error::data(path, format!("`{key}`: {m}")))
}

pub fn parse_idx(bytes: &[u8]) -> std::result::Result<IdxArray, String> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err("not an IDX file (it must start with two zero bytes)".into());
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "IDX element type 0x{:02x} is not supported (expected 0x08, unsigned bytes)",
            bytes[2]
        ));
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if rank == 0 || bytes.len() < header {
        return Err(format!("IDX header for {rank} dimensions is truncated"));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let data = &bytes[header..];
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("dimensions {dims:?} are too large"))?;
    if data.len() != expected {
        return Err(format!(
            "dimensions {dims:?} need {expected} bytes of data, the file has {}",
            data.len()
        ));
    }
    Ok(IdxArray {
        dims,
        data: data.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_small_image_file() {
        let mut b = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        b.extend([1, 2, 3, 4]);
        let a = parse_idx(&b).unwrap();
        assert_eq!(a.dims, vec![2, 1, 2]);
        assert_eq!(a.data, vec![1, 2, 3, 4]);
    }

    #[test]
    fn rejects_truncated_data() {
        let b = vec![0, 0, 8, 1, 0, 0, 0, 5, 1, 2];
        assert!(parse_idx(&b).unwrap_err().contains("need 5 bytes"));
    }
}
