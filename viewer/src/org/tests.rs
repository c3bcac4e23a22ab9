#![allow(clippy::unwrap_used, reason = "tests")]

use super::*;

#[test]
fn init_sign_import_show_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let org_dir = dir.path().join("org");
    let mut out = Vec::new();
    run_org(
        &OrgCommand::Init {
            name: "Example IT".to_owned(),
            dir: org_dir.clone(),
        },
        &mut out,
    )
    .unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains("public_key = \"ed25519:"), "{printed}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(org_dir.join(ORG_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second init in the same place would orphan every certificate: refused.
    let again = run_org(
        &OrgCommand::Init {
            name: "Other".to_owned(),
            dir: org_dir.clone(),
        },
        &mut Vec::new(),
    );
    assert!(again.unwrap_err().to_string().contains("already holds"));

    let technician = KeyPair::generate().unwrap();
    let cert_path = dir.path().join("ada.cert");
    run_org(
        &OrgCommand::SignTechnician {
            dir: org_dir,
            name: "Ada".to_owned(),
            pubkey: technician.public_key().to_text(),
            scopes: "view,input".to_owned(),
            expires_days: 30,
            out: Some(cert_path.clone()),
        },
        &mut Vec::new(),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut out = Vec::new();
    run_certificate(
        &CertificateCommand::Import {
            file: cert_path.clone(),
        },
        &data,
        &technician,
        &mut out,
    )
    .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("\"Ada\" of \"Example IT\"")
    );
    assert_eq!(load(&data).unwrap().unwrap().body.technician, "Ada");

    // Someone else's certificate is refused at import, with what to do.
    let stranger = KeyPair::generate().unwrap();
    let err = run_certificate(
        &CertificateCommand::Import { file: cert_path },
        &dir.path().join("other"),
        &stranger,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("for another technician key"),
        "{err}"
    );
}

#[test]
fn an_edited_certificate_is_refused_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let org_dir = dir.path().join("org");
    run_org(
        &OrgCommand::Init {
            name: "Example IT".to_owned(),
            dir: org_dir.clone(),
        },
        &mut Vec::new(),
    )
    .unwrap();
    let technician = KeyPair::generate().unwrap();
    let mut certificate = sign(
        &org_dir,
        "Ada",
        technician.public_key(),
        "view".parse().unwrap(),
        30,
    )
    .unwrap();
    certificate.body.scopes = ScopeSet::all();
    let path = dir.path().join("edited.cert");
    std::fs::write(&path, certificate.to_text()).unwrap();
    let err = run_certificate(
        &CertificateCommand::Import { file: path },
        &dir.path().join("data"),
        &technician,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("signature is invalid"), "{err}");
}
