//! Sealing, opening, tampering, rotation and the `Secret`/`MasterKey` formatting rules.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dialtone_secrets::{
    MasterKey, Secret, SecretError, Zeroizing, fingerprint, is_sealed, open, open_secret, rekey,
    seal, sealed_fingerprint,
};
use proptest::prelude::*;

const NAME: &str = "trunk/42/sip_password";
const PLAINTEXT: &str = "correct-horse-battery-staple-9f3a";

fn key() -> MasterKey {
    MasterKey::generate().unwrap()
}

fn body(sealed: &str) -> (&str, &str) {
    let (prefix, b64) = sealed.rsplit_once(':').unwrap();
    (prefix, b64)
}

#[test]
fn round_trip() {
    let k = key();
    let sealed = seal(&k, NAME, PLAINTEXT.as_bytes());
    assert_eq!(&**open(&k, NAME, &sealed).unwrap(), PLAINTEXT.as_bytes());
    assert_eq!(open_secret(&k, NAME, &sealed).unwrap().expose(), PLAINTEXT);
    assert!(!sealed.contains(PLAINTEXT));
}

#[test]
fn round_trip_edge_values() {
    let k = key();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".repeat(200)
    );
    let binary: Vec<u8> = (0..=255u8).collect();
    for (name, plaintext) in [
        ("", &b""[..]),
        (
            "carrier/twilio/auth_token",
            b"0123456789abcdef0123456789abcdef",
        ),
        ("ünïcødé/名前", "pässwörd ☎".as_bytes()),
        ("cert/key", pem.as_bytes()),
        ("binary", &binary[..]),
    ] {
        let sealed = seal(&k, name, plaintext);
        assert_eq!(
            &**open(&k, name, &sealed).unwrap(),
            plaintext,
            "name {name:?}"
        );
        assert!(sealed.is_ascii());
    }
}

#[test]
fn format_is_versioned_text_with_key_fingerprint() {
    let k = key();
    let sealed = seal(&k, NAME, b"x");
    let parts: Vec<&str> = sealed.split(':').collect();
    assert_eq!(parts.len(), 3, "{sealed}");
    assert_eq!(parts[0], "v1");
    assert_eq!(parts[1], fingerprint(&k));
    assert_eq!(STANDARD.decode(parts[2]).unwrap().len(), 24 + 1 + 16);
    assert!(is_sealed(&sealed));
    assert_eq!(sealed_fingerprint(&sealed), Some(k.fingerprint()));
    assert!(!is_sealed("hunter2"));
    assert!(!is_sealed(""));
    assert_eq!(sealed_fingerprint("v1:nope"), None);
}

#[test]
fn sealing_twice_gives_different_strings() {
    let k = key();
    let a = seal(&k, NAME, PLAINTEXT.as_bytes());
    let b = seal(&k, NAME, PLAINTEXT.as_bytes());
    assert_ne!(a, b);
    assert_ne!(body(&a).1[..32], body(&b).1[..32], "nonces must differ");
}

#[test]
fn wrong_key_fails() {
    let (k1, k2) = (key(), key());
    let sealed = seal(&k1, NAME, PLAINTEXT.as_bytes());
    match open(&k2, NAME, &sealed) {
        Err(SecretError::WrongKey {
            sealed_with,
            loaded,
        }) => {
            assert_eq!(sealed_with, k1.fingerprint());
            assert_eq!(loaded, k2.fingerprint());
        }
        other => panic!("expected WrongKey, got {other:?}"),
    }
    // Even with the fingerprint forged to match k2, the AEAD refuses.
    let forged = sealed.replace(k1.fingerprint(), k2.fingerprint());
    assert!(matches!(
        open(&k2, NAME, &forged),
        Err(SecretError::AuthenticationFailed)
    ));
}

#[test]
fn wrong_name_fails() {
    let k = key();
    let sealed = seal(&k, NAME, PLAINTEXT.as_bytes());
    for other in [
        "trunk/43/sip_password",
        "trunk/42/sip_passwor",
        "",
        "TRUNK/42/SIP_PASSWORD",
        "trunk/42/sip_password\0",
    ] {
        assert!(
            matches!(
                open(&k, other, &sealed),
                Err(SecretError::AuthenticationFailed)
            ),
            "opened under name {other:?}"
        );
    }
}

#[test]
fn every_single_character_change_fails() {
    let k = key();
    let sealed = seal(&k, NAME, PLAINTEXT.as_bytes());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=:v";
    for i in 0..sealed.len() {
        for &c in alphabet {
            if sealed.as_bytes()[i] == c {
                continue;
            }
            let mut bytes = sealed.clone().into_bytes();
            bytes[i] = c;
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(
                open(&k, NAME, &tampered).is_err(),
                "position {i} -> {:?} opened",
                c as char
            );
        }
    }
}

#[test]
fn tampered_ciphertext_nonce_and_tag_fail() {
    let k = key();
    let sealed = seal(&k, NAME, PLAINTEXT.as_bytes());
    let (prefix, b64) = body(&sealed);
    let raw = STANDARD.decode(b64).unwrap();
    for i in 0..raw.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = raw.clone();
            t[i] ^= bit;
            let tampered = format!("{prefix}:{}", STANDARD.encode(&t));
            let what = if i < 24 {
                "nonce"
            } else if i >= raw.len() - 16 {
                "tag"
            } else {
                "ciphertext"
            };
            assert!(
                matches!(
                    open(&k, NAME, &tampered),
                    Err(SecretError::AuthenticationFailed)
                ),
                "{what} byte {i} flipped with {bit:#x} opened"
            );
        }
    }
    // Bytes appended or removed inside the base64 body.
    let mut longer = raw.clone();
    longer.push(0);
    assert!(matches!(
        open(&k, NAME, &format!("{prefix}:{}", STANDARD.encode(&longer))),
        Err(SecretError::AuthenticationFailed)
    ));
    let shorter = &raw[..raw.len() - 1];
    assert!(matches!(
        open(&k, NAME, &format!("{prefix}:{}", STANDARD.encode(shorter))),
        Err(SecretError::AuthenticationFailed)
    ));
}

#[test]
fn tampered_version_fails() {
    let k = key();
    let sealed = seal(&k, NAME, PLAINTEXT.as_bytes());
    let rest = sealed.strip_prefix("v1:").unwrap();
    for (version, want_found) in [("v2", Some("v2")), ("v0", Some("v0")), ("v10", Some("v10"))] {
        match open(&k, NAME, &format!("{version}:{rest}")) {
            Err(SecretError::UnsupportedVersion { found }) => {
                assert_eq!(found.as_deref(), want_found)
            }
            other => panic!("{version}: expected UnsupportedVersion, got {other:?}"),
        }
    }
    for bad in [
        format!("V1:{rest}"),
        format!("v1 :{rest}"),
        format!("x:{rest}"),
        format!(":{rest}"),
        rest.to_owned(),
    ] {
        assert!(
            matches!(open(&k, NAME, &bad), Err(SecretError::Malformed(_))),
            "{bad}"
        );
    }
    // Surrounding whitespace is not silently accepted.
    assert!(open(&k, NAME, &format!(" {sealed}")).is_err());
    assert!(open(&k, NAME, &format!("{sealed}\n")).is_err());
}

#[test]
fn every_truncation_fails_cleanly() {
    let k = key();
    for plaintext in [&b""[..], b"a", PLAINTEXT.as_bytes()] {
        let sealed = seal(&k, NAME, plaintext);
        for end in 0..sealed.len() {
            let err = open(&k, NAME, &sealed[..end]).expect_err("a truncated value opened");
            assert!(
                matches!(
                    err,
                    SecretError::Malformed(_) | SecretError::AuthenticationFailed
                ),
                "truncation to {end}: {err:?}"
            );
        }
        // ...and every suffix (front truncation).
        for start in 1..sealed.len() {
            assert!(
                open(&k, NAME, &sealed[start..]).is_err(),
                "suffix from {start} opened"
            );
        }
    }
}

#[test]
fn errors_never_echo_input() {
    let k = key();
    // A legacy row that was never sealed holds a plaintext credential.
    for row in [
        "hunter2",
        "hunter2:with:colons",
        "sk_live_abc:def",
        "v1:hunter2hunter2:AAAA",
    ] {
        let err = open(&k, NAME, row).unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("sk_live"),
                "{shown}"
            );
        }
    }
}

#[test]
fn open_secret_requires_utf8() {
    let k = key();
    let sealed = seal(&k, NAME, &[0xff, 0xfe, 0x00]);
    assert!(matches!(
        open_secret(&k, NAME, &sealed),
        Err(SecretError::NotUtf8)
    ));
    assert!(matches!(
        Secret::from_utf8(Zeroizing::new(vec![0xc3])),
        Err(SecretError::NotUtf8)
    ));
    assert_eq!(
        Secret::from_utf8(Zeroizing::new(b"ok".to_vec()))
            .unwrap()
            .expose(),
        "ok"
    );
}

#[test]
fn rekey_moves_a_value_to_the_new_key() {
    let (old, new) = (key(), key());
    let sealed = seal(&old, NAME, PLAINTEXT.as_bytes());
    let resealed = rekey(&old, &new, NAME, &sealed).unwrap();
    assert_ne!(resealed, sealed);
    assert_eq!(sealed_fingerprint(&resealed), Some(new.fingerprint()));
    assert_eq!(
        open_secret(&new, NAME, &resealed).unwrap().expose(),
        PLAINTEXT
    );
    assert!(matches!(
        open(&old, NAME, &resealed),
        Err(SecretError::WrongKey { .. })
    ));

    // Resuming an interrupted rotation: already under `new`, returned unchanged.
    assert_eq!(rekey(&old, &new, NAME, &resealed).unwrap(), resealed);
    // ...but still verified.
    assert!(rekey(&old, &new, "other", &resealed).is_err());

    // Wrong name or an unrelated old key: refused, nothing produced.
    assert!(matches!(
        rekey(&old, &new, "other", &sealed),
        Err(SecretError::AuthenticationFailed)
    ));
    let stranger = key();
    assert!(matches!(
        rekey(&stranger, &new, NAME, &sealed),
        Err(SecretError::WrongKey { .. })
    ));
    assert!(rekey(&old, &new, NAME, "garbage").is_err());

    // Same key on both sides: re-sealed with a fresh nonce, or returned as is — either opens.
    let same = rekey(&old, &old, NAME, &sealed).unwrap();
    assert_eq!(open_secret(&old, NAME, &same).unwrap().expose(), PLAINTEXT);
}

#[test]
fn fingerprint_identifies_the_key_without_revealing_it() {
    let bytes = [7u8; 32];
    let a = MasterKey::from_bytes(bytes);
    let b = MasterKey::from_bytes(bytes);
    let c = MasterKey::from_bytes([8u8; 32]);
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_ne!(fingerprint(&a), fingerprint(&c));
    let fp = fingerprint(&a);
    assert_eq!(fp.len(), 16);
    assert!(
        fp.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert!(
        !"07".repeat(32).starts_with(&fp),
        "fingerprint must not be the key itself"
    );
    // Not a plain SHA-256 of the key either.
    use sha2::Digest as _;
    let digest: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!digest.starts_with(&fp));
}

#[test]
fn debug_and_display_reveal_nothing() {
    let raw: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let b64 = STANDARD.encode(raw);
    let k = MasterKey::from_bytes(raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    for shown in [format!("{k:?}"), format!("{k:#?}"), format!("{k}")] {
        assert!(!shown.contains(&b64), "{shown}");
        assert!(!shown.contains(&b64[..12]), "{shown}");
        assert!(!shown.contains(&hex[..16]), "{shown}");
        assert!(
            !shown.contains(&format!("{:?}", &raw[..4]).trim_end_matches(']').to_owned()),
            "{shown}"
        );
        assert!(shown.contains(k.fingerprint()), "{shown}");
    }

    let s = Secret::new(PLAINTEXT);
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(format!("{s:#?}"), "Secret(***)");

    #[derive(Debug)]
    #[allow(dead_code)]
    struct TrunkConfig {
        host: String,
        password: Secret,
    }
    let cfg = TrunkConfig {
        host: "sip.example.net".into(),
        password: Secret::new(PLAINTEXT),
    };
    let shown = format!("{cfg:?} {cfg:#?}");
    assert!(!shown.contains(PLAINTEXT), "{shown}");
    assert!(shown.contains("Secret(***)"));
}

fn arb_name() -> impl Strategy<Value = String> {
    ".{0,40}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prop_round_trip(name in arb_name(), plaintext in proptest::collection::vec(any::<u8>(), 0..512)) {
        let k = MasterKey::from_bytes([3u8; 32]);
        let sealed = seal(&k, &name, &plaintext);
        prop_assert_eq!(&**open(&k, &name, &sealed).unwrap(), &plaintext[..]);
    }

    #[test]
    fn prop_random_strings_never_panic_or_open(s in ".{0,200}") {
        let k = MasterKey::from_bytes([3u8; 32]);
        prop_assert!(open(&k, NAME, &s).is_err());
        let _ = is_sealed(&s);
        let _ = sealed_fingerprint(&s);
    }

    #[test]
    fn prop_random_bodies_after_a_valid_prefix_never_open(s in "[A-Za-z0-9+/=:]{0,200}") {
        let k = MasterKey::from_bytes([3u8; 32]);
        let input = format!("v1:{}:{s}", k.fingerprint());
        prop_assert!(open(&k, NAME, &input).is_err());
    }

    #[test]
    fn prop_random_well_formed_ciphertexts_never_open(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let k = MasterKey::from_bytes([3u8; 32]);
        let input = format!("v1:{}:{}", k.fingerprint(), STANDARD.encode(&raw));
        let result = open(&k, NAME, &input);
        prop_assert!(
            matches!(result, Err(SecretError::Malformed(_) | SecretError::AuthenticationFailed)),
            "{:?}", result
        );
    }

    #[test]
    fn prop_random_bytes_as_lossy_text_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let k = MasterKey::from_bytes([3u8; 32]);
        let s = String::from_utf8_lossy(&raw);
        prop_assert!(open(&k, NAME, &s).is_err());
        prop_assert!(rekey(&k, &k, NAME, &s).is_err());
    }
}
