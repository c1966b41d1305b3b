//! IDX files (the MNIST format), gzipped or plain: a big-endian magic
//! `0x0000 08 NN` (unsigned bytes, NN dimensions), NN u32 sizes, then the data.

use crate::data::SourceError;
use std::io::Read;
use std::path::Path;

/// Dimensions and raw bytes of an IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads an IDX file; `.gz` content is recognised by its magic bytes, not its name.
pub fn read_idx(path: &Path, key: &str) -> Result<IdxArray, SourceError> {
    let raw = std::fs::read(path).map_err(|e| {
        SourceError::new(path, format!("cannot read the file named by `{key}`: {e}"))
    })?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| SourceError::new(path, format!("`{key}`: not a valid gzip file: {e}")))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).map_err(|m| SourceError::new(path, format!("`{key}`: {m}")))
}

pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray, String> {
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

/// Labelled grey images from a pair of IDX files (MNIST's layout).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledImages {
    pub len: usize,
    pub height: usize,
    pub width: usize,
    /// `len × height × width` pixels, image after image, row-major.
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl LabelledImages {
    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.height * self.width;
        &self.pixels[i * size..(i + 1) * size]
    }
}

/// Reads an image file (3 dimensions) and its label file (1 dimension) and
/// checks they agree; `ikey` and `lkey` are the TOML keys that named them.
pub fn read_labelled_images(
    images: &Path,
    labels: &Path,
    ikey: &str,
    lkey: &str,
) -> Result<LabelledImages, SourceError> {
    let img = read_idx(images, ikey)?;
    let lab = read_idx(labels, lkey)?;
    if img.dims.len() != 3 {
        return Err(SourceError::new(
            images,
            format!(
                "`{ikey}`: expected images (3 dimensions), found dimensions {:?}",
                img.dims
            ),
        ));
    }
    if lab.dims.len() != 1 {
        return Err(SourceError::new(
            labels,
            format!(
                "`{lkey}`: expected labels (1 dimension), found dimensions {:?}",
                lab.dims
            ),
        ));
    }
    if img.dims[0] != lab.dims[0] {
        return Err(SourceError::new(
            labels,
            format!(
                "{} labels for {} images in {}",
                lab.dims[0],
                img.dims[0],
                images.display()
            ),
        ));
    }
    Ok(LabelledImages {
        len: img.dims[0],
        height: img.dims[1],
        width: img.dims[2],
        pixels: img.data,
        labels: lab.data,
    })
}
