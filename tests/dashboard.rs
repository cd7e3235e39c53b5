//! The Grafana dashboard (docs/grafana/dialerd.json) is valid JSON and
//! queries only metrics that dialerd exports.

mod common;

use common::repo;

#[test]
fn every_dashboard_metric_exists() {
    let text = std::fs::read_to_string(repo().join("docs/grafana/dialerd.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let catalogue = std::fs::read_to_string(repo().join("src/metrics.rs")).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    let mut checked = 0;
    for p in panels {
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if !word.starts_with("dialerd_") {
                    continue;
                }
                let base = ["_bucket", "_sum", "_count"].iter().fold(word, |w, s| w.strip_suffix(s).unwrap_or(w));
                assert!(
                    catalogue.contains(&format!("\"{base}\"")),
                    "panel {:?} queries unknown metric {word}",
                    p["title"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "{checked}");
}
