//! The `colored-mnist` source on the shipped MNIST file, and its errors.

use mtl_colored_mnist::{background, foreground, paint, ColoredMnist};
use mtl_plugin::idx::read_labelled_images;
use mtl_plugin::{DataSource, Options, Registry};
use std::path::{Path, PathBuf};

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/mnist10k")
        .join(file)
}

fn source(colors: usize, seed: u64) -> ColoredMnist {
    ColoredMnist {
        images: data("images-idx3-ubyte.gz"),
        labels: data("labels-idx1-ubyte.gz"),
        test_images: None,
        test_labels: None,
        colors,
        color_seed: seed,
    }
}

#[test]
fn each_image_is_its_digit_painted_in_its_labelled_colours() {
    let main = source(4, 0).load(&[]).unwrap().main;
    let mnist = read_labelled_images(
        &data("images-idx3-ubyte.gz"),
        &data("labels-idx1-ubyte.gz"),
        "i",
        "l",
    )
    .unwrap();
    assert_eq!(main.sample_shape, vec![3, 28, 28]);
    let (digit, fg, bg) = (
        main.column("digit").unwrap(),
        main.column("fg").unwrap(),
        main.column("bg").unwrap(),
    );
    for i in [0, 17, 9_999] {
        let painted = paint(
            mnist.image(i),
            foreground(fg[i] as usize, 4),
            background(bg[i] as usize, 4),
        );
        assert_eq!(
            &main.inputs[i * 3 * 784..(i + 1) * 3 * 784],
            &painted[..],
            "image {i}"
        );
        assert_eq!(digit[i], f64::from(mnist.labels[i]));
    }
    // Every colour is drawn, about equally often (2,500 of 10,000 each).
    for column in [fg, bg] {
        for k in 0..4 {
            let n = column.iter().filter(|&&c| c == k as f64).count();
            assert!((2_300..2_700).contains(&n), "colour {k}: {n} images");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_images_and_another_does_not() {
    let a = source(3, 5).load(&[]).unwrap().main;
    assert_eq!(a, source(3, 5).load(&[]).unwrap().main);
    let b = source(3, 6).load(&[]).unwrap().main;
    assert_ne!(a.column("fg"), b.column("fg"));
    assert_eq!(a.column("digit"), b.column("digit"));
}

#[test]
fn the_test_set_draws_its_own_colours() {
    let mut s = source(4, 0);
    s.test_images = Some(data("images-idx3-ubyte.gz"));
    s.test_labels = Some(data("labels-idx1-ubyte.gz"));
    let loaded = s.load(&[]).unwrap();
    let test = loaded.test.unwrap();
    assert_eq!(test.len, 10_000);
    assert_ne!(test.column("fg"), loaded.main.column("fg"));
}

#[test]
fn a_bad_colour_count_names_the_key_and_range() {
    let err = source(1, 0).check().unwrap_err();
    assert_eq!(err.key, "colors");
    assert!(err.message.contains("2 to 12"), "{}", err.message);
    assert!(source(13, 0).check().is_err());
}

#[test]
fn options_come_from_toml_with_defaults_filled_in() {
    let mut r = Registry::new();
    mtl_colored_mnist::register(&mut r);
    let table: mtl_plugin::toml::Table =
        mtl_plugin::toml::from_str("images = \"a\"\nlabels = \"b\"").unwrap();
    let found = r.find_data_source("colored-mnist", &table).unwrap();
    assert_eq!(
        found.options.get("colors").and_then(|v| v.as_integer()),
        Some(4)
    );
    assert_eq!(
        found.options.get("color_seed").and_then(|v| v.as_integer()),
        Some(0)
    );
    let bad: mtl_plugin::toml::Table =
        mtl_plugin::toml::from_str("images = \"a\"\nlabels = \"b\"\ncolors = \"red\"").unwrap();
    let err = match r.find_data_source("colored-mnist", &bad) {
        Err(e) => format!("{e:?}"),
        Ok(_) => panic!("accepted a string colour count"),
    };
    assert!(err.contains("colors"), "{err}");
}
