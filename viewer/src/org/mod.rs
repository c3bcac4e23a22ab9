//! Organisation administration: the organisation key, technician certificates and
//! second-factor secrets (`lifeline-viewer org …`), and the technician's own
//! certificate (`lifeline-viewer certificate …`).
//!
//! The organisation key never lives in the viewer's data directory: `org init` writes
//! it to a directory the admin names (keep it offline), and `org sign-technician` reads
//! it from there only for the moment of signing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use lifeline_protocol::trust::{CertificateBody, TechnicianCertificate, TotpSecret};
use lifeline_protocol::{KeyPair, PublicKey, ScopeSet, Timestamp};
use serde::{Deserialize, Serialize};

/// The organisation's private key inside its directory.
pub const ORG_KEY_FILE: &str = "organisation.pk8";
/// The organisation's name and public key inside its directory.
pub const ORG_INFO_FILE: &str = "organisation.toml";
/// The technician's certificate inside the viewer's data directory.
pub const CERTIFICATE_FILE: &str = "technician.cert";

/// `org` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Create an organisation key in DIR (keep DIR offline; it signs certificates).
    Init {
        /// The organisation's name, as end users will see it when the agent's policy
        /// does not rename it.
        #[arg(long)]
        name: String,
        /// Directory for the key (created; must not hold a key already).
        #[arg(long, default_value = "lifeline-organisation")]
        dir: PathBuf,
    },
    /// Sign a technician's public key (from `lifeline-viewer fingerprint`).
    SignTechnician {
        /// The organisation directory made by `org init`.
        #[arg(long, default_value = "lifeline-organisation")]
        dir: PathBuf,
        /// The technician's name, shown to end users.
        #[arg(long)]
        name: String,
        /// The technician's public key, `ed25519:` and 64 hex digits.
        #[arg(long)]
        pubkey: String,
        /// The most this technician may be granted, e.g. `view,input` (default: all).
        #[arg(long, default_value = "all")]
        scopes: String,
        /// Days until the certificate expires.
        #[arg(long, default_value_t = 365)]
        expires_days: u64,
        /// Write the certificate here (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Make a TOTP secret for unattended access: the file goes to the agents' policy
    /// directory, the printed otpauth URI into the technicians' authenticator app.
    TotpSecret {
        /// Where to write the secret (base32, mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// Label shown in the authenticator app.
        #[arg(long, default_value = "unattended")]
        label: String,
    },
}

/// `certificate` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CertificateCommand {
    /// Check a certificate from your organisation and keep it in the data directory:
    /// attended sessions then show your verified name, and unattended access works.
    Import {
        /// The certificate file from `org sign-technician`.
        file: PathBuf,
    },
    /// Print the certificate in use.
    Show,
}

#[derive(Debug, Serialize, Deserialize)]
struct OrgInfo {
    name: String,
    public_key: String,
}

/// Runs an `org` subcommand, writing what people need to `out`.
pub fn run_org(command: &OrgCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        OrgCommand::Init { name, dir } => init(name, dir, out),
        OrgCommand::SignTechnician {
            dir,
            name,
            pubkey,
            scopes,
            expires_days,
            out: target,
        } => {
            let scopes: ScopeSet = scopes.parse()?;
            let technician_key = PublicKey::from_text(pubkey)
                .context("--pubkey (print it with `lifeline-viewer fingerprint`)")?;
            let certificate = sign(dir, name, technician_key, scopes, *expires_days)?;
            match target {
                Some(path) => {
                    std::fs::write(path, certificate.to_text())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    writeln!(
                        out,
                        "certificate for {name:?} written to {}",
                        path.display()
                    )?;
                    writeln!(
                        out,
                        "the technician imports it with: lifeline-viewer certificate import {}",
                        path.display()
                    )?;
                }
                None => write!(out, "{}", certificate.to_text())?,
            }
            Ok(())
        }
        OrgCommand::TotpSecret { out: path, label } => {
            let secret = TotpSecret::generate()?;
            write_private(path, secret.to_base32().as_bytes())?;
            writeln!(out, "secret written to {} (mode 0600)", path.display())?;
            writeln!(
                out,
                "agents: copy it next to the policy and set totp_secret_file; technicians: add \
                 this to an authenticator app:"
            )?;
            writeln!(out, "{}", secret.otpauth_uri(label))?;
            Ok(())
        }
    }
}

fn init(name: &str, dir: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    if name.trim().is_empty() || name.len() > lifeline_protocol::message::MAX_NAME_LEN {
        bail!("--name must be 1 to 128 bytes");
    }
    let key_path = dir.join(ORG_KEY_FILE);
    if key_path.exists() {
        bail!(
            "{} already holds an organisation key; certificates signed with it would stop \
             working if it were replaced. Choose another --dir",
            key_path.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key = KeyPair::generate()?;
    write_private(&key_path, key.to_pkcs8())?;
    let info = OrgInfo {
        name: name.to_owned(),
        public_key: key.public_key().to_text(),
    };
    std::fs::write(dir.join(ORG_INFO_FILE), toml::to_string(&info)?)?;
    writeln!(
        out,
        "organisation key written to {} (mode 0600; keep it offline)",
        key_path.display()
    )?;
    writeln!(
        out,
        "add this to each agent's policy (/etc/lifeline/policy.toml):\n"
    )?;
    writeln!(
        out,
        "[[organisation]]\nname = {:?}\npublic_key = {:?}",
        info.name, info.public_key
    )?;
    Ok(())
}

/// Signs a certificate with the organisation key in `dir`.
pub fn sign(
    dir: &Path,
    technician: &str,
    technician_key: PublicKey,
    scopes: ScopeSet,
    expires_days: u64,
) -> anyhow::Result<TechnicianCertificate> {
    if technician.trim().is_empty() || technician.len() > lifeline_protocol::message::MAX_NAME_LEN {
        bail!("--name must be 1 to 128 bytes");
    }
    let key_path = dir.join(ORG_KEY_FILE);
    let pkcs8 = std::fs::read(&key_path).with_context(|| {
        format!(
            "cannot read the organisation key {} (made by `lifeline-viewer org init`)",
            key_path.display()
        )
    })?;
    let key = KeyPair::from_pkcs8(&pkcs8)
        .with_context(|| format!("{} is not an organisation key", key_path.display()))?;
    let info_path = dir.join(ORG_INFO_FILE);
    let info: OrgInfo = toml::from_str(
        &std::fs::read_to_string(&info_path)
            .with_context(|| format!("cannot read {}", info_path.display()))?,
    )
    .with_context(|| format!("{} is damaged", info_path.display()))?;
    let now = now();
    let days = Duration::from_secs(expires_days.max(1).saturating_mul(86_400));
    Ok(CertificateBody {
        organisation: info.name,
        organisation_key: key.public_key(),
        technician: technician.to_owned(),
        technician_key,
        scopes,
        issued_at: now,
        expires_at: now.saturating_add(days),
    }
    .sign(&key))
}

/// Runs a `certificate` subcommand for the technician whose key is `own`.
pub fn run_certificate(
    command: &CertificateCommand,
    data_dir: &Path,
    own: &KeyPair,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        CertificateCommand::Import { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let certificate = TechnicianCertificate::from_text(&text)?;
            check_own(&certificate, own)?;
            std::fs::create_dir_all(data_dir)?;
            let target = data_dir.join(CERTIFICATE_FILE);
            std::fs::write(&target, certificate.to_text())
                .with_context(|| format!("cannot write {}", target.display()))?;
            writeln!(out, "imported: {}", describe(&certificate))?;
            Ok(())
        }
        CertificateCommand::Show => match load(data_dir)? {
            Some(certificate) => {
                writeln!(out, "{}", describe(&certificate))?;
                Ok(())
            }
            None => bail!(
                "no technician certificate in {}; ask your organisation's admin for one and \
                 run `lifeline-viewer certificate import FILE`",
                data_dir.display()
            ),
        },
    }
}

/// The imported certificate, if any.
pub fn load(data_dir: &Path) -> anyhow::Result<Option<TechnicianCertificate>> {
    let path = data_dir.join(CERTIFICATE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(TechnicianCertificate::from_text(&text).with_context(
            || format!("the certificate {} is damaged", path.display()),
        )?)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// A certificate is usable by this technician: theirs, intact and current.
pub fn check_own(certificate: &TechnicianCertificate, own: &KeyPair) -> anyhow::Result<()> {
    if certificate.body.technician_key != own.public_key() {
        bail!(
            "this certificate is for another technician key ({}), not yours ({}); send your \
             public key from `lifeline-viewer fingerprint` to your admin",
            certificate.body.technician_key.fingerprint(),
            own.public_key().fingerprint()
        );
    }
    if !certificate.signature_is_valid() {
        bail!("the certificate's signature is invalid: it was changed after signing");
    }
    if certificate.body.expires_at <= now() {
        bail!("the certificate has expired; ask your admin for a new one");
    }
    Ok(())
}

fn describe(certificate: &TechnicianCertificate) -> String {
    let body = &certificate.body;
    format!(
        "{:?} of {:?} (organisation key {}), permissions at most {}, expires {} (unix {})",
        body.technician,
        body.organisation,
        body.organisation_key.fingerprint(),
        body.scopes,
        body.expires_at,
        body.expires_at.as_unix_millis() / 1000,
    )
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_millis(millis)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests;
