//! The colours: K hues evenly spaced on the colour wheel, bright for the
//! stroke and dark (offset by half a step) for the background, so that a
//! digit is visible whichever two are drawn.

/// An RGB colour, 0–255 per channel.
pub type Rgb = [f32; 3];

/// Foreground colour `k` of `colors`: hue k/K, full saturation and value.
pub fn foreground(k: usize, colors: usize) -> Rgb {
    hsv(k as f32 / colors as f32, 1.0, 1.0)
}

/// Background colour `k` of `colors`: hue (k + ½)/K, saturation 0.8, value 0.35.
pub fn background(k: usize, colors: usize) -> Rgb {
    hsv((k as f32 + 0.5) / colors as f32, 0.8, 0.35)
}

/// A grey digit (`[h·w]`, 0 = background) as `[3, h, w]` channels: each
/// pixel blends the two colours by its intensity.
pub fn paint(digit: &[u8], fg: Rgb, bg: Rgb) -> Vec<f32> {
    let mut out = Vec::with_capacity(3 * digit.len());
    for channel in 0..3 {
        out.extend(digit.iter().map(|&v| {
            let a = f32::from(v) / 255.0;
            a * fg[channel] + (1.0 - a) * bg[channel]
        }));
    }
    out
}

/// HSV (hue in turns) to RGB in 0–255.
fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let h6 = (h.rem_euclid(1.0)) * 6.0;
    let c = v * s;
    let x = c * (1.0 - ((h6 % 2.0) - 1.0).abs());
    let (r, g, b) = match h6 as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [(r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_hues() {
        assert_eq!(foreground(0, 3), [255.0, 0.0, 0.0]);
        assert_eq!(foreground(1, 3), [0.0, 255.0, 0.0]);
        assert_eq!(foreground(2, 3), [0.0, 0.0, 255.0]);
    }

    #[test]
    fn colours_are_distinct_and_strokes_brighter_than_backgrounds() {
        for k in [2, 4, 8] {
            for i in 0..k {
                for j in 0..k {
                    if i != j {
                        assert_ne!(foreground(i, k), foreground(j, k));
                        assert_ne!(background(i, k), background(j, k));
                    }
                    // Brightness as HSV's value: the largest channel.
                    let value = |c: Rgb| c.iter().copied().fold(0.0, f32::max);
                    assert!(value(foreground(i, k)) > value(background(j, k)) + 100.0);
                }
            }
        }
    }

    #[test]
    fn paint_blends_by_intensity() {
        let fg = [200.0, 100.0, 0.0];
        let bg = [0.0, 50.0, 100.0];
        let out = paint(&[0, 255, 51], fg, bg);
        // Channel-major: R of the 3 pixels, then G, then B; 51/255 = 0.2.
        let expected = [0.0, 200.0, 40.0, 50.0, 100.0, 60.0, 100.0, 0.0, 80.0];
        for (o, e) in out.iter().zip(expected) {
            assert!((o - e).abs() < 1e-4, "{out:?}");
        }
    }
}
