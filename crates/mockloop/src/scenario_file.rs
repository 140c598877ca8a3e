//! Scenario files: YAML or JSON holding one scenario or a list, read for `serve --scenarios`
//! and `mockloop scenario create|update`.

use std::path::Path;

use engine::runtime::Scenario;
use serde_json::Value;

/// The scenarios of a file, each with its JSON as written (what gets stored). Errors name
/// the file and the field (`[1].endpoints[0].path`).
pub fn read(path: &Path) -> Result<Vec<(Scenario, Value)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read scenario file '{}': {e}", path.display()))?;
    let is_json = path.extension().is_some_and(|ext| ext == "json");
    let value: Value = if is_json {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())
    }
    .map_err(|e| format!("invalid scenario file '{}': {e}", path.display()))?;
    let items = match &value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let scenarios = Scenario::many_from_json(value)
        .map_err(|e| format!("invalid scenario file '{}': {e}", path.display()))?;
    Ok(scenarios.into_iter().zip(items).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_lists_and_json_objects_are_read_and_errors_name_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("s.yaml");
        std::fs::write(
            &yaml,
            "- scenario_name: a\n  endpoints:\n    - path: /books\n      response_config: \
             { status_code: 503 }\n- scenario_name: b\n",
        )
        .unwrap();
        let read_back = read(&yaml).unwrap();
        assert_eq!(read_back.len(), 2);
        assert_eq!(
            read_back[0].0.endpoints[0].response_config.status_code,
            Some(503)
        );
        assert_eq!(read_back[1].1["scenario_name"], "b");

        let json = dir.path().join("s.json");
        std::fs::write(
            &json,
            r#"{"scenario_name": "c", "endpoints": [{"path": 5}]}"#,
        )
        .unwrap();
        let err = read(&json).unwrap_err();
        assert!(
            err.starts_with(&format!(
                "invalid scenario file '{}': endpoints[0].path: ",
                json.display()
            )),
            "{err}"
        );
    }
}
