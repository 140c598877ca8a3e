use serde::Deserialize;
fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap();
        let t = std::time::Instant::now();
        let _ = serde::de::IgnoredAny::deserialize(serde_yaml_ng::Deserializer::from_str(&text))
            .unwrap();
        let ignored = t.elapsed();
        let t = std::time::Instant::now();
        let v: serde_json::Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(&text).unwrap()
        } else {
            serde_yaml_ng::from_str(&text).unwrap_or_default()
        };
        let json = t.elapsed();
        let t = std::time::Instant::now();
        let api = spec::load(&path, &spec::LoadOptions::default()).unwrap();
        let total = t.elapsed();
        let t = std::time::Instant::now();
        drop(api);
        drop(v);
        println!(
            "{path}: ignored-any {:?}, to-value {:?}, load {:?}, drop {:?}",
            ignored,
            json,
            total,
            t.elapsed()
        );
    }
}
