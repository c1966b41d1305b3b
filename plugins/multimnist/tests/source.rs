//! The `multimnist` source on the shipped MNIST file, and its errors.

use mtl_multimnist::{compose, pairing, MultiMnist};
use mtl_plugin::idx::read_labelled_images;
use mtl_plugin::{DataSource, Options, Registry};
use std::path::{Path, PathBuf};

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/mnist10k")
        .join(file)
}

fn source(seed: u64) -> MultiMnist {
    MultiMnist {
        images: data("images-idx3-ubyte.gz"),
        labels: data("labels-idx1-ubyte.gz"),
        test_images: None,
        test_labels: None,
        pairing_seed: seed,
    }
}

#[test]
fn each_image_is_its_two_digits_composed_and_labelled() {
    let loaded = source(3).load(&[]).unwrap();
    let mnist = read_labelled_images(
        &data("images-idx3-ubyte.gz"),
        &data("labels-idx1-ubyte.gz"),
        "images",
        "labels",
    )
    .unwrap();
    let main = loaded.main;
    assert_eq!(main.len, 10_000);
    assert_eq!(main.sample_shape, vec![1, 28, 28]);
    let partner = pairing(10_000, 3);
    let left = main.column("left").unwrap();
    let right = main.column("right").unwrap();
    for i in [0, 1, 4_321, 9_999] {
        let j = partner[i];
        let expected: Vec<f32> = compose(mnist.image(i), mnist.image(j))
            .into_iter()
            .map(f32::from)
            .collect();
        assert_eq!(
            &main.inputs[i * 784..(i + 1) * 784],
            &expected[..],
            "image {i}"
        );
        assert_eq!(left[i], f64::from(mnist.labels[i]));
        assert_eq!(right[i], f64::from(mnist.labels[j]));
    }
    // The pairing is not the identity: most right digits differ from the left.
    let same = left.iter().zip(right).filter(|(l, r)| l == r).count();
    assert!(same < 2_000, "{same} of 10000 pairs share their label");
    assert_eq!(loaded.files.len(), 2);
    assert!(loaded.test.is_none());
}

#[test]
fn the_same_seed_gives_the_same_images_and_another_does_not() {
    let a = source(0).load(&[]).unwrap().main;
    let b = source(0).load(&[]).unwrap().main;
    let c = source(1).load(&[]).unwrap().main;
    assert_eq!(a, b);
    assert_ne!(a.inputs, c.inputs);
    assert_eq!(a.column("left"), c.column("left"));
    assert_ne!(a.column("right"), c.column("right"));
}

#[test]
fn a_test_set_is_built_from_its_own_files() {
    let mut s = source(0);
    s.test_images = Some(data("images-idx3-ubyte.gz"));
    s.test_labels = Some(data("labels-idx1-ubyte.gz"));
    let loaded = s.load(&[]).unwrap();
    assert_eq!(loaded.test.unwrap().len, 10_000);
    assert_eq!(loaded.files.len(), 4);
}

#[test]
fn options_come_from_toml_with_the_seed_defaulted() {
    let mut r = Registry::new();
    mtl_multimnist::register(&mut r);
    let table: mtl_plugin::toml::Table =
        mtl_plugin::toml::from_str("images = \"a.gz\"\nlabels = \"b.gz\"").unwrap();
    let found = r.find_data_source("multimnist", &table).unwrap();
    assert_eq!(
        found
            .options
            .get("pairing_seed")
            .and_then(|v| v.as_integer()),
        Some(0)
    );
}

#[test]
fn an_unknown_option_names_the_key() {
    let mut r = Registry::new();
    mtl_multimnist::register(&mut r);
    let table: mtl_plugin::toml::Table =
        mtl_plugin::toml::from_str("images = \"a.gz\"\nlabels = \"b.gz\"\npairing_sed = 1")
            .unwrap();
    let err = match r.find_data_source("multimnist", &table) {
        Err(e) => format!("{e:?}"),
        Ok(_) => panic!("accepted an unknown key"),
    };
    assert!(err.contains("pairing_sed"), "{err}");
}

#[test]
fn half_a_test_set_is_refused() {
    let mut s = source(0);
    s.test_images = Some(data("images-idx3-ubyte.gz"));
    let err = s.check().unwrap_err();
    assert_eq!(err.key, "test_labels");
}

#[test]
fn a_missing_file_is_named() {
    let mut s = source(0);
    s.labels = PathBuf::from("no/such/labels.gz");
    let err = s.load(&[]).unwrap_err();
    assert_eq!(err.path, PathBuf::from("no/such/labels.gz"));
    assert!(err.message.contains("data.labels"), "{}", err.message);
}

#[test]
fn images_of_another_size_are_refused() {
    // An IDX file of two 3 × 3 images and its labels.
    let dir = std::env::temp_dir().join(format!("mtl-multimnist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut img = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
    img.extend([0u8; 18]);
    std::fs::write(dir.join("img"), img).unwrap();
    std::fs::write(dir.join("lab"), [0, 0, 8, 1, 0, 0, 0, 2, 4, 7]).unwrap();
    let mut s = source(0);
    s.images = dir.join("img");
    s.labels = dir.join("lab");
    let err = s.load(&[]).unwrap_err();
    assert!(
        err.message.contains("28 × 28") && err.message.contains("3 × 3"),
        "{}",
        err.message
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
