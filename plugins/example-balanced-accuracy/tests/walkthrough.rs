//! docs/plugins.md shows this crate's files in full: each block there must
//! be the file as it is, so that the walk-through cannot rot.

use std::path::Path;

#[test]
fn the_walkthrough_shows_this_crate_as_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/plugins.md")).unwrap();
    let marker = "<!-- file: ";
    let mut shown = 0;
    for part in doc.split(marker).skip(1) {
        let (path, rest) = part
            .split_once(" -->")
            .expect("a file marker ends with -->");
        let block = rest
            .split_once("```")
            .and_then(|(_, b)| b.split_once('\n'))
            .and_then(|(_, b)| b.split_once("\n```"))
            .map(|(code, _)| code)
            .unwrap_or_else(|| panic!("no code block after the marker of {path}"));
        let file = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("docs/plugins.md shows {path}: {e}"));
        assert_eq!(
            block.trim_end(),
            file.trim_end(),
            "docs/plugins.md shows {path} differently from the file"
        );
        shown += 1;
    }
    // Cargo.toml and src/lib.rs of this crate.
    assert!(shown >= 2, "the walk-through shows {shown} files");
}
