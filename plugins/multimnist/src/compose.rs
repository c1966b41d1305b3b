//! One MultiMNIST image from two MNIST digits, as in the loader of Sener &
//! Koltun (`multi_task/loaders/multi_mnist_loader.py`).

use mtl_plugin::SplitMix64;

/// Side of the canvas the two 28 × 28 digits are placed on.
pub const CANVAS: usize = 36;
/// Rows and columns the right digit is shifted down and right by.
pub const SHIFT: usize = 6;
/// Side of MNIST images and of the result.
pub const SIDE: usize = 28;

/// The partner (right digit) of each image: a permutation drawn from `seed`.
/// An image may be its own partner (as when partners are drawn at random).
pub fn pairing(len: usize, seed: u64) -> Vec<usize> {
    SplitMix64::derived(seed, "multimnist pairing").permutation(len)
}

/// The 28 × 28 image of `left` (at the top-left) and `right` (shifted by
/// [`SHIFT`]) on a [`CANVAS`]-sided canvas: the pixelwise maximum where
/// they overlap, scaled so the brightest pixel is 255 (what `imresize`
/// does to a float canvas), then sampled back to 28 × 28 at pixel centres.
pub fn compose(left: &[u8], right: &[u8]) -> Vec<u8> {
    assert_eq!(left.len(), SIDE * SIDE);
    assert_eq!(right.len(), SIDE * SIDE);
    let mut canvas = [0u8; CANVAS * CANVAS];
    for r in 0..SIDE {
        for c in 0..SIDE {
            canvas[r * CANVAS + c] = left[r * SIDE + c];
        }
    }
    for r in 0..SIDE {
        for c in 0..SIDE {
            let at = &mut canvas[(r + SHIFT) * CANVAS + c + SHIFT];
            *at = (*at).max(right[r * SIDE + c]);
        }
    }
    let max = canvas.iter().copied().max().unwrap_or(0);
    let source = |i: usize| (((i as f64) + 0.5) * CANVAS as f64 / SIDE as f64) as usize;
    let mut out = Vec::with_capacity(SIDE * SIDE);
    for r in 0..SIDE {
        for c in 0..SIDE {
            let v = canvas[source(r) * CANVAS + source(c)];
            out.push(if max == 0 {
                0
            } else {
                (f64::from(v) * 255.0 / f64::from(max) + 0.5) as u8
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A digit that is one bright pixel at (r, c).
    fn dot(r: usize, c: usize, v: u8) -> Vec<u8> {
        let mut img = vec![0u8; SIDE * SIDE];
        img[r * SIDE + c] = v;
        img
    }

    /// Where canvas pixel (r, c) lands in the 28 × 28 result, if it is sampled.
    fn sampled_at(r: usize, c: usize) -> Option<(usize, usize)> {
        let back = |x: usize| (0..SIDE).find(|&o| ((o as f64 + 0.5) * 36.0 / 28.0) as usize == x);
        Some((back(r)?, back(c)?))
    }

    #[test]
    fn sampling_covers_the_canvas_corners() {
        // Output 0 reads canvas 0, output 27 reads canvas 35.
        assert_eq!(sampled_at(0, 0), Some((0, 0)));
        assert_eq!(sampled_at(35, 35), Some((27, 27)));
    }

    #[test]
    fn left_stays_top_left_and_right_moves_down_right() {
        // A dot at (0, 0) of the left digit stays at canvas (0, 0); a dot at
        // (1, 1) of the right digit lands on canvas (7, 7), which output
        // (5, 5) samples. (Canvas row 6 falls between two samples: 36 → 28.)
        assert_eq!(sampled_at(6, 6), None);
        let out = compose(&dot(0, 0, 255), &dot(1, 1, 255));
        let (r, c) = sampled_at(7, 7).expect("canvas (7, 7) is sampled");
        assert_eq!((r, c), (5, 5));
        assert_eq!(out[0], 255);
        assert_eq!(out[r * SIDE + c], 255);
        assert_eq!(out.iter().filter(|&&v| v > 0).count(), 2);
    }

    #[test]
    fn overlap_is_the_pixelwise_max_of_the_placed_digits() {
        // Full images of constant brightness: the overlap (canvas 6..28) is
        // the max of both, the rest is each digit alone or empty.
        let left = vec![100u8; SIDE * SIDE];
        let right = vec![255u8; SIDE * SIDE];
        let out = compose(&left, &right);
        for r in 0..SIDE {
            for c in 0..SIDE {
                let at = |o: usize| ((o as f64 + 0.5) * 36.0 / 28.0) as usize;
                let (cr, cc) = (at(r), at(c));
                let l = if cr < 28 && cc < 28 { 100 } else { 0 };
                let rt = if (6..34).contains(&cr) && (6..34).contains(&cc) {
                    255
                } else {
                    0
                };
                assert_eq!(out[r * SIDE + c], l.max(rt), "pixel ({r}, {c})");
            }
        }
    }

    #[test]
    fn intensities_are_rescaled_to_255() {
        // As imresize does with a float canvas: the brightest pixel becomes 255.
        let out = compose(&dot(0, 0, 100), &dot(10, 10, 50));
        assert_eq!(out[0], 255);
        assert!(out.contains(&128)); // 50 · 255 / 100 = 127.5, rounded half up
    }

    #[test]
    fn the_same_seed_gives_the_same_pairing() {
        assert_eq!(pairing(1000, 7), pairing(1000, 7));
        assert_ne!(pairing(1000, 7), pairing(1000, 8));
        let mut p = pairing(1000, 7);
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
    }
}
