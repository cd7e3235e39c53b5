//! Lead qualification (seed 001, Lucep): a lead posted by a web form is
//! called through its service's qualification campaign, hears an IVR
//! ("press 1 if interested, 2 to opt out"), is redialled, gets email, SMS
//! and WhatsApp messages with a link to a confirm page, and ends qualified
//! (handed to the sales team by the `lead.qualified` event) or rejected.
//!
//! - `wire`: the seed's form fields and JSON reply.
//! - `phone`, `sms`, `template`, `link`, `page`: pure helpers.
//! - `machine`: one lead's state machine (sans-IO).
//! - `engine`: the actor that owns every lead's state; `messenger`: the
//!   durable message queue and its senders (`mail`, `provider`).
//! - `provision`: the qualification campaigns behind `[[lead_api.services]]`.

pub mod engine;
pub mod link;
pub mod machine;
pub mod mail;
pub mod messenger;
pub mod page;
pub mod phone;
pub mod provider;
pub mod provision;
pub mod sms;
pub mod template;
pub mod wire;

/// The key confirm links are signed with: `[lead_api] link_secret`, else a
/// random one kept in the data dir (mode 0600) so links survive restarts.
pub fn link_secret(cfg: &crate::config::Config) -> Result<Vec<u8>, String> {
    if let Some(s) = &cfg.lead_api.link_secret {
        return Ok(s.as_bytes().to_vec());
    }
    let path = cfg.storage.data_dir.join("lead-link.secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => return Err(format!("{}: shorter than 32 characters; delete it to make a new one", path.display())),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(format!("{}: {e}", path.display())),
        Err(_) => {}
    }
    let secret: String = {
        use rand::Rng;
        let bytes: [u8; 32] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(secret.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(secret.into_bytes())
}
