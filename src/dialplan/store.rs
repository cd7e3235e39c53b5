//! The loaded set of flows, replaced whole: a reload that finds any problem
//! keeps the old set and reports why (a broken file never takes a running
//! daemon down). Calls hold their `Arc<Flow>`, so they finish on the
//! version they started with. The only file of `dialplan` that reads disk.

use super::{DialplanProblem, Flow, parse};
use crate::call::prompts::PromptStore;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// What a load found: the flows and versions, or the problems.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoadReport {
    pub flows: Vec<FlowInfo>,
    /// Each problem as `file: nodes.<name>: message`.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowInfo {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
}

pub struct DialplanStore {
    dir: PathBuf,
    prompts_dir: PathBuf,
    current: RwLock<Arc<BTreeMap<String, Arc<Flow>>>>,
}

impl DialplanStore {
    /// Loads every `*.toml` in `dir`; `Err` lists every problem.
    pub fn open(dir: &Path, prompts_dir: &Path) -> Result<Self, Vec<DialplanProblem>> {
        let flows = load_dir(dir, prompts_dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            prompts_dir: prompts_dir.to_path_buf(),
            current: RwLock::new(Arc::new(flows)),
        })
    }

    /// An empty store (tests, or a daemon without dialplans).
    pub fn empty() -> Self {
        Self { dir: PathBuf::new(), prompts_dir: PathBuf::new(), current: RwLock::new(Arc::new(BTreeMap::new())) }
    }

    pub fn get(&self, name: &str) -> Option<Arc<Flow>> {
        self.current.read().unwrap().get(name).cloned()
    }

    pub fn report(&self) -> LoadReport {
        let flows = self.current.read().unwrap().values().map(|f| info(f)).collect();
        LoadReport { flows, problems: Vec::new() }
    }

    /// Re-reads the directory. All or nothing: on any problem the running
    /// set stays and the report says why.
    pub fn reload(&self) -> Result<LoadReport, LoadReport> {
        match load_dir(&self.dir, &self.prompts_dir) {
            Ok(flows) => {
                *self.current.write().unwrap() = Arc::new(flows);
                Ok(self.report())
            }
            Err(problems) => {
                let mut r = self.report();
                r.problems = problems.iter().map(|p| p.to_string()).collect();
                Err(r)
            }
        }
    }
}

impl DialplanStore {
    /// Installs flows checked elsewhere (a configuration reload checks
    /// them with the names that point at them before swapping).
    pub fn replace(&self, flows: BTreeMap<String, Arc<Flow>>) {
        *self.current.write().unwrap() = Arc::new(flows);
    }
}

fn info(f: &Flow) -> FlowInfo {
    FlowInfo { name: f.name.clone(), version: f.version.clone(), description: f.description.clone() }
}

/// Parses every `*.toml` file of `dir` (not recursive).
pub fn load_dir(dir: &Path, prompts_dir: &Path) -> Result<BTreeMap<String, Arc<Flow>>, Vec<DialplanProblem>> {
    let problem = |file: &str, message: String| DialplanProblem { file: file.into(), at: String::new(), message };
    let entries = std::fs::read_dir(dir).map_err(|e| vec![problem(&dir.display().to_string(), e.to_string())])?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    // A fresh prompt store per load, so a reload sees changed WAV files.
    let prompts = PromptStore::new(prompts_dir.to_path_buf());
    let load_prompt = |name: &str| prompts.load(name).map_err(|e| e.to_string());
    let mut flows = BTreeMap::new();
    let mut problems = Vec::new();
    for path in files {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = file.trim_end_matches(".toml");
        if stem.is_empty() || !stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            problems.push(problem(&file, "a flow's file name may hold only letters, digits, '-' and '_'".into()));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse(&file, &text, &load_prompt) {
                Ok(flow) => drop(flows.insert(flow.name.clone(), Arc::new(flow))),
                Err(p) => problems.extend(p),
            },
            Err(e) => problems.push(problem(&file, format!("cannot read: {e}"))),
        }
    }
    if problems.is_empty() { Ok(flows) } else { Err(problems) }
}
