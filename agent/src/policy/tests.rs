#![allow(clippy::unwrap_used, reason = "tests")]

use super::*;
use lifeline_protocol::{KeyPair, Scope};

fn org_key() -> String {
    KeyPair::generate().unwrap().public_key().to_text()
}

#[test]
fn the_example_in_assets_parses_and_allows_nothing_unattended() {
    let text = include_str!("../../../assets/policy.example.toml");
    let policy = Policy::parse(text, Path::new("/nonexistent")).unwrap();
    assert_eq!(policy.trust.organisations.len(), 1);
    assert_eq!(policy.trust.organisations[0].name, "Example IT");
    assert!(policy.trust.unattended.is_none());
    assert_eq!(policy.continue_after, Some(Duration::from_secs(3600)));
}

#[test]
fn unattended_policy_with_totp_reads_scopes_and_the_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = TotpSecret::generate().unwrap();
    std::fs::write(dir.path().join("totp.secret"), secret.to_base32()).unwrap();
    let text = format!(
        "[[organisation]]\nname = \"Acme\"\npublic_key = \"{}\"\n\
         [unattended]\nallowed = true\nmax_scopes = \"view,input\"\n\
         confirm_scopes = \"input\"\ntotp_secret_file = \"totp.secret\"\n\
         [attended]\ncontinue_after_minutes = 0\n",
        org_key()
    );
    let policy = Policy::parse(&text, dir.path()).unwrap();
    let unattended = policy.trust.unattended.unwrap();
    assert_eq!(
        unattended.max_scopes,
        ScopeSet::from([Scope::ViewScreen, Scope::ControlInput])
    );
    assert_eq!(
        unattended.confirm_scopes,
        ScopeSet::from([Scope::ControlInput])
    );
    assert!(unattended.second_factor.is_some());
    assert_eq!(policy.continue_after, None);
}

#[test]
fn mistakes_are_named_and_nothing_is_half_applied() {
    let key = org_key();
    let base = Path::new("/nonexistent");
    let cases = [
        (
            "[unattended]\nallowed = true\nsecond_factor = \"none\"\n",
            "no [[organisation]]",
        ),
        (
            &format!(
                "[[organisation]]\nname = \"A\"\npublic_key = \"{key}\"\n[unattended]\nallowed = true\n"
            ),
            "totp_secret_file is not set",
        ),
        (
            "[[organisation]]\nname = \"A\"\npublic_key = \"ed25519:12\"\n",
            "not a Lifeline public key",
        ),
        (
            &format!(
                "[[organisation]]\nname = \"A\"\npublic_key = \"{key}\"\n[unattended]\nallowed = true\nsecond_factor = \"none\"\nmax_scopes = \"view,telepathy\"\n"
            ),
            "unknown permission \"telepathy\"",
        ),
        ("[unatended]\nallowed = true\n", "unknown field"),
        (
            "[actions]\nconfirm = \"commands,sysinfo\"\n",
            "only files,commands can be confirmed one by one",
        ),
        (
            &format!(
                "[[organisation]]\nname = \"A\"\npublic_key = \"{key}\"\n[unattended]\nallowed = true\ntotp_secret_file = \"missing.secret\"\n"
            ),
            "cannot read the TOTP secret",
        ),
    ];
    for (text, expected) in cases {
        let err = Policy::parse(text, base).unwrap_err();
        assert!(
            err.contains(expected),
            "{err:?} should mention {expected:?}"
        );
    }
}

#[test]
fn a_missing_explicit_file_is_an_error_not_the_defaults() {
    let err = Policy::load(Some(Path::new("/nonexistent/policy.toml"))).unwrap_err();
    assert!(err.to_string().contains("cannot read the policy file"));
}
