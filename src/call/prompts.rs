//! Prompt files under `[media] prompts_dir`, loaded once and shared.

use crate::media::Prompt;
use crate::media::prompt::WavError;
use dashmap::DashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("must be a relative path inside the prompts directory")]
    BadName,
    #[error("no such prompt file")]
    NotFound,
    #[error("cannot read the file: {0}")]
    Io(std::io::Error),
    #[error("{0}")]
    Format(#[from] WavError),
}

pub struct PromptStore {
    dir: PathBuf,
    cache: DashMap<String, Arc<Prompt>>,
}

impl PromptStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, cache: DashMap::new() }
    }

    /// The prompt `name` (e.g. `welcome.wav`), from cache or disk.
    pub fn load(&self, name: &str) -> Result<Arc<Prompt>, PromptError> {
        if let Some(p) = self.cache.get(name) {
            return Ok(p.clone());
        }
        let rel = Path::new(name);
        if name.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(PromptError::BadName);
        }
        let bytes = std::fs::read(self.dir.join(rel)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PromptError::NotFound,
            _ => PromptError::Io(e),
        })?;
        let prompt = Arc::new(Prompt::from_wav(&bytes)?);
        self.cache.insert(name.to_string(), prompt.clone());
        Ok(prompt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::prompt::wav_pcm16;

    #[test]
    fn loads_caches_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello.wav"), wav_pcm16(&[0; 160])).unwrap();
        std::fs::write(dir.path().join("bad.wav"), b"nope").unwrap();
        let store = PromptStore::new(dir.path().to_path_buf());
        assert_eq!(store.load("hello.wav").unwrap().ulaw.len(), 160);
        std::fs::remove_file(dir.path().join("hello.wav")).unwrap();
        assert!(store.load("hello.wav").is_ok(), "served from cache");
        assert!(matches!(store.load("../etc/passwd"), Err(PromptError::BadName)));
        assert!(matches!(store.load("/etc/passwd"), Err(PromptError::BadName)));
        assert!(matches!(store.load("missing.wav"), Err(PromptError::NotFound)));
        assert!(matches!(store.load("bad.wav"), Err(PromptError::Format(WavError::NotWave))));
    }
}
