//! Loading the master key from the environment and from a key file.

use std::fs;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dialtone_secrets::{ENV_VAR, KeyProblem, KeySource, MasterKey, SecretError, open, seal};

/// Bytes 0..32 in base64.
const B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// A variable name nobody sets, so the developer's own environment can't interfere.
const UNSET_VAR: &str = "DIALTONE_SECRETS_TEST_VARIABLE_THAT_IS_NEVER_SET";

fn b64_key() -> MasterKey {
    MasterKey::from_bytes(core::array::from_fn(|i| i as u8))
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn write_key_file(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap();
    #[cfg(unix)]
    chmod(path, 0o600);
}

#[test]
fn creates_a_missing_key_file_with_32_random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.key");
    let key = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(
        key.source(),
        &KeySource::File {
            path: path.clone(),
            created: true
        }
    );

    let text = fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(STANDARD.decode(text.trim()).unwrap().len(), 32);

    let again = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(
        again.source(),
        &KeySource::File {
            path: path.clone(),
            created: false
        }
    );
    assert_eq!(again.fingerprint(), key.fingerprint());
    let sealed = seal(&key, "n", b"v");
    assert_eq!(&**open(&again, "n", &sealed).unwrap(), b"v");

    // Another file gets another key.
    let other = MasterKey::load_or_create(&dir.path().join("other.key")).unwrap();
    assert_ne!(other.fingerprint(), key.fingerprint());
}

#[cfg(unix)]
#[test]
fn created_key_file_has_mode_0600_and_new_directories_0700() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("keys").join("secret.key");
    MasterKey::load_or_create(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
}

#[test]
fn loads_an_existing_key_file_with_surrounding_whitespace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.key");
    write_key_file(&path, &format!("  {B64}\n\n"));
    let key = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(key.fingerprint(), b64_key().fingerprint());
    assert_eq!(
        key.source(),
        &KeySource::File {
            path,
            created: false
        }
    );
}

#[cfg(unix)]
#[test]
fn too_open_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.key");
    write_key_file(&path, B64);
    for bad in [
        0o644, 0o640, 0o604, 0o660, 0o606, 0o620, 0o602, 0o610, 0o601, 0o666,
    ] {
        chmod(&path, bad);
        let err = MasterKey::load_or_create(&path).unwrap_err();
        match &err {
            SecretError::KeyFileTooOpen { path: p, mode } => {
                assert_eq!(p, &path);
                assert_eq!(*mode, bad);
            }
            other => panic!("mode {bad:o}: expected KeyFileTooOpen, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("chmod 600 {}", path.display())),
            "{msg}"
        );
        assert!(!msg.contains(B64), "{msg}");
        // The file is left alone.
        assert_eq!(fs::read_to_string(&path).unwrap(), B64);
    }
    for ok in [0o600, 0o400] {
        chmod(&path, ok);
        assert_eq!(
            MasterKey::load_or_create(&path).unwrap().fingerprint(),
            b64_key().fingerprint()
        );
    }
}

#[test]
fn malformed_key_files_are_clear_errors_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.key");
    for (contents, want) in [
        ("", KeyProblem::Empty),
        ("\n", KeyProblem::Empty),
        ("not base64!", KeyProblem::NotBase64),
        ("AAAA", KeyProblem::WrongLength { got: 3 }),
        (
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==",
            KeyProblem::WrongLength { got: 34 },
        ),
    ] {
        write_key_file(&path, contents);
        let err = MasterKey::load_or_create(&path).unwrap_err();
        match &err {
            SecretError::MalformedKeyFile { path: p, problem } => {
                assert_eq!(p, &path);
                assert_eq!(*problem, want, "contents {contents:?}");
            }
            other => panic!("contents {contents:?}: expected MalformedKeyFile, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("must contain 32 bytes in base64"), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            contents,
            "a malformed key file was modified"
        );
    }
}

#[test]
fn non_utf8_key_file_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.key");
    fs::write(&path, [0xff, 0xfe, 0xfd]).unwrap();
    #[cfg(unix)]
    chmod(&path, 0o600);
    assert!(matches!(
        MasterKey::load_or_create(&path),
        Err(SecretError::MalformedKeyFile {
            problem: KeyProblem::NotBase64,
            ..
        })
    ));
}

#[test]
fn key_file_path_that_is_a_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = MasterKey::load_or_create(dir.path()).unwrap_err();
    assert!(matches!(err, SecretError::KeyFileIo { .. }), "{err:?}");
}

#[test]
fn from_env_or_file_uses_the_file_when_the_variable_is_unset() {
    assert!(std::env::var_os(UNSET_VAR).is_none());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.key");
    write_key_file(&path, B64);
    let key = MasterKey::from_env_or_file(UNSET_VAR, &path).unwrap();
    assert_eq!(key.fingerprint(), b64_key().fingerprint());
    assert!(matches!(
        key.source(),
        KeySource::File { created: false, .. }
    ));
}

#[test]
fn master_key_display_names_fingerprint_and_source_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.key");
    write_key_file(&path, B64);
    let key = MasterKey::load_or_create(&path).unwrap();
    let shown = format!("{key} {key:?}");
    assert!(shown.contains(key.fingerprint()), "{shown}");
    assert!(shown.contains(&path.display().to_string()), "{shown}");
    assert!(
        !shown.contains(B64) && !shown.contains(&B64[..10]),
        "{shown}"
    );
}

/// Child-process half of the environment tests below: the process environment
/// can only be set safely for a fresh process (`set_var` is `unsafe` in
/// edition 2024 and this workspace forbids `unsafe`), so the test re-runs its
/// own binary with the variable set and this test selected.
#[test]
fn env_child() {
    let Ok(mode) = std::env::var("DIALTONE_SECRETS_TEST_CHILD") else {
        return; // not a child run
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.key");
    let result = MasterKey::from_env_or_file(ENV_VAR, &path);
    assert!(
        !path.exists(),
        "the key file must not be touched when {ENV_VAR} is set"
    );
    match mode.as_str() {
        "good" => {
            let key = result.unwrap();
            assert_eq!(key.fingerprint(), b64_key().fingerprint());
            assert_eq!(
                key.source(),
                &KeySource::Env {
                    var: ENV_VAR.into()
                }
            );
            assert!(!format!("{key} {key:?}").contains(B64));
        }
        "bad" => {
            let msg = result.unwrap_err().to_string();
            assert!(
                msg.starts_with(
                    "DIALTONE_SECRET_KEY must be 32 bytes in base64 (it decodes to 3 bytes, not 32); \
                     generate one with `head -c 32 /dev/urandom | base64`"
                ),
                "{msg}"
            );
        }
        "empty" => {
            assert!(matches!(
                result,
                Err(SecretError::MalformedEnvKey {
                    problem: KeyProblem::Empty,
                    ..
                })
            ));
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn run_child(mode: &str, value: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "env_child", "--nocapture", "--test-threads=1"])
        .env("DIALTONE_SECRETS_TEST_CHILD", mode)
        .env(ENV_VAR, value)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child {mode} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "child {mode} ran no test:\n{stdout}\n{stderr}"
    );
}

#[test]
fn from_env_or_file_prefers_the_environment_variable() {
    run_child("good", B64);
}

#[test]
fn from_env_or_file_rejects_a_malformed_environment_variable() {
    run_child("bad", "AAAA");
}

#[test]
fn from_env_or_file_rejects_a_set_but_empty_environment_variable() {
    run_child("empty", "");
}
