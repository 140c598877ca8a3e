fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap();
    let filter = args.next().unwrap_or_default();
    let api = spec::load(&path, &spec::LoadOptions::default()).unwrap();
    println!(
        "{} {:?} base_paths={:?} schemes={:?} security={:?}",
        api.title, api.version, api.base_paths, api.security_schemes, api.security
    );
    for op in &api.operations {
        if !op.path.contains(&filter) {
            continue;
        }
        println!(
            "== {} {} id={:?} ptr={} bases={:?}",
            op.method.as_str(),
            op.path,
            op.operation_id,
            op.pointer,
            api.operation_base_paths(op)
        );
        for p in &op.parameters {
            println!(
                "  param {} {:?} req={} style={:?} explode={} schema={} ex={:?} ct={:?}",
                p.name,
                p.location,
                p.required,
                p.style,
                p.explode,
                p.schema
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default()
                    .chars()
                    .take(150)
                    .collect::<String>(),
                p.example,
                p.content_type
            );
        }
        if let Some(b) = &op.request_body {
            for m in &b.content {
                println!(
                    "  body req={} {} schema={} enc={:?} ex={:?} exs={}",
                    b.required,
                    m.media_type,
                    m.schema
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                        .chars()
                        .take(300)
                        .collect::<String>(),
                    m.encoding,
                    m.example
                        .as_ref()
                        .map(|e| e.to_string().chars().take(80).collect::<String>()),
                    m.examples.len()
                );
            }
        }
        for r in &op.responses {
            println!(
                "  resp {} headers={:?}",
                r.status,
                r.headers
                    .iter()
                    .map(|h| format!(
                        "{}:{}",
                        h.name,
                        h.schema.as_ref().map(|s| s.to_string()).unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
            );
            for m in &r.content {
                println!(
                    "    {} schema={} ex={:?} examples={:?}",
                    m.media_type,
                    m.schema
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                        .chars()
                        .take(100)
                        .collect::<String>(),
                    m.example
                        .as_ref()
                        .map(|e| e.to_string().chars().take(80).collect::<String>()),
                    m.examples
                        .iter()
                        .map(|(n, v)| format!(
                            "{n}={}",
                            v.to_string().chars().take(40).collect::<String>()
                        ))
                        .collect::<Vec<_>>()
                );
            }
        }
        for c in &op.callbacks {
            println!(
                "  callback {} {} {:?} body={}",
                c.name,
                c.expression,
                c.method,
                c.request_body.is_some()
            );
        }
        println!("  security={:?} tags={:?}", op.security, op.tags);
    }
    for w in spec::webhooks(&api) {
        println!("webhook {} {}", w.method.as_str(), w.path);
    }
}
