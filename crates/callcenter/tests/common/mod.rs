//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use dialtone_callcenter::{CallCenterDef, Format, export, parse};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every fixture file, by name, sorted (read once).
pub fn all_fixtures() -> &'static [(String, Vec<u8>)] {
    static FIXTURES: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(|| {
        let mut files: Vec<_> = std::fs::read_dir(fixtures_dir())
            .expect("fixtures directory")
            .map(|entry| {
                let name = entry.expect("directory entry").file_name();
                let name = name.to_str().expect("UTF-8 file name").to_owned();
                let bytes = fixture(&name);
                (name, bytes)
            })
            .collect();
        files.sort();
        files
    });
    &FIXTURES
}

/// The fixtures that parse.
pub fn parseable_fixtures() -> &'static [(String, Vec<u8>)] {
    static PARSEABLE: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(|| {
        all_fixtures()
            .iter()
            .filter(|(name, bytes)| parse(bytes, name).is_ok())
            .cloned()
            .collect()
    });
    &PARSEABLE
}

/// Checks the round-trip properties for one format: `parse(export(def, f)) == def.to_format(f)`,
/// and exporting that again is byte-identical.
///
/// Metadata files are read back under `<internal name>.callCenter`, since that format takes the
/// internal name from the file name.
pub fn assert_round_trip(def: &CallCenterDef, format: Format) {
    let file_name = match format {
        Format::Legacy => "round-trip.xml".to_owned(),
        Format::Metadata => format!("{}.callCenter", def.internal_name),
    };
    let exported = export(def, format);
    let back = parse(exported.as_bytes(), &file_name)
        .unwrap_or_else(|e| panic!("export to {format:?} does not parse back: {e}\n{exported}"));
    assert_eq!(back, def.to_format(format), "via {format:?}:\n{exported}");
    assert_eq!(export(&back, format), exported, "export is not stable");
}

/// For a parsed definition: both round trips hold, and in its own format nothing changes.
pub fn assert_parsed_round_trips(def: &CallCenterDef, file_name: &str) {
    assert_eq!(
        &def.to_format(def.format),
        def,
        "{file_name}: to_format is not the identity"
    );
    let back = parse(export(def, def.format).as_bytes(), file_name).expect(file_name);
    assert_eq!(&back, def, "{file_name}: same-format round trip");
    for format in [Format::Legacy, Format::Metadata] {
        assert_round_trip(def, format);
    }
}
