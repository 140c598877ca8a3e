//! Where documents come from: file paths and http(s) URLs, read within the size and time limits.

use std::io::Read;

use url::Url;

use crate::LoadOptions;

/// Reads documents. Every document is addressed by an absolute URL (`file:` for local files)
/// so that relative references resolve the same way whether the referrer is a file or a URL.
pub(crate) struct Fetcher {
    max_bytes: u64,
    timeout: std::time::Duration,
    allowed_dirs: Option<Vec<std::path::PathBuf>>,
    /// Built on first use: most descriptions never touch the network.
    agent: std::cell::OnceCell<ureq::Agent>,
}

impl Fetcher {
    pub(crate) fn new(options: &LoadOptions) -> Fetcher {
        Fetcher {
            max_bytes: options.max_document_bytes,
            timeout: options.fetch_timeout,
            allowed_dirs: options.allowed_dirs.clone(),
            agent: std::cell::OnceCell::new(),
        }
    }

    /// The bytes of the document at `url`, or why they cannot be had.
    pub(crate) fn read(&self, url: &Url) -> Result<Vec<u8>, String> {
        match url.scheme() {
            "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| format!("'{url}' is not a usable file location"))?;
                self.read_file(&path)
            }
            "http" | "https" => self.read_url(url),
            other => Err(format!(
                "unsupported url scheme '{other}' (use a file path or http(s))"
            )),
        }
    }

    fn read_file(&self, path: &std::path::Path) -> Result<Vec<u8>, String> {
        if let Some(dirs) = &self.allowed_dirs {
            let canonical = std::fs::canonicalize(path).map_err(|e| io_reason(&e))?;
            if !dirs.iter().any(|dir| canonical.starts_with(dir)) {
                return Err("is outside the allowed directories".to_owned());
            }
        }
        let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err("is a directory, not a file".to_owned());
        }
        let mut bytes = Vec::new();
        // Reading one byte past the limit tells "exactly at the limit" from "over it" without
        // trusting the metadata (which lies for pipes and some special files).
        file.take(self.max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| io_reason(&e))?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(format!(
                "is larger than the limit of {} bytes",
                self.max_bytes
            ));
        }
        Ok(bytes)
    }

    fn read_url(&self, url: &Url) -> Result<Vec<u8>, String> {
        let agent = self.agent.get_or_init(|| {
            ureq::Agent::config_builder()
                .timeout_global(Some(self.timeout))
                .build()
                .into()
        });
        let mut response = agent.get(url.as_str()).call().map_err(|e| match e {
            ureq::Error::StatusCode(code) => format!("the server answered with http status {code}"),
            ureq::Error::Timeout(_) => format!("no answer within {:?}", self.timeout),
            other => format!("cannot fetch it: {other}"),
        })?;
        response
            .body_mut()
            .with_config()
            .limit(self.max_bytes)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    format!("is larger than the limit of {} bytes", self.max_bytes)
                }
                other => format!("cannot read the response body: {other}"),
            })
    }
}

/// The URL of the document named by `source`: an `http(s)://` or `file://` URL as given, or a
/// file path made absolute against the working directory.
pub(crate) fn root_url(source: &str) -> Result<Url, String> {
    let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("file://")
    {
        return Url::parse(source).map_err(|e| format!("not a valid url: {e}"));
    }
    if source.is_empty() {
        return Err("no file name given".to_owned());
    }
    let absolute = std::path::absolute(source).map_err(|e| io_reason(&e))?;
    Url::from_file_path(&absolute).map_err(|()| "not a usable file path".to_owned())
}

/// How a document is named in messages: a file path for local files, else the URL.
pub(crate) fn display_name(url: &Url) -> String {
    if url.scheme() == "file" {
        if let Ok(path) = url.to_file_path() {
            return path.display().to_string();
        }
    }
    url.to_string()
}

/// A lowercase reason for an I/O failure, in the voice of our other messages.
fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "is a directory, not a file".to_owned(),
        _ => {
            let text = err.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_become_absolute_file_urls() {
        let url = root_url("specs/api.yaml").unwrap();
        assert_eq!(url.scheme(), "file");
        assert!(url.path().ends_with("/specs/api.yaml"), "{url}");
    }

    #[test]
    fn http_sources_are_kept_as_urls() {
        let url = root_url("HTTP://127.0.0.1:9/api.json").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/api.json");
    }

    #[test]
    fn oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        std::fs::write(&path, "{\"a\": 1}").unwrap();
        let options = LoadOptions {
            max_document_bytes: 4,
            ..LoadOptions::default()
        };
        let err = Fetcher::new(&options)
            .read(&Url::from_file_path(&path).unwrap())
            .unwrap_err();
        assert_eq!(err, "is larger than the limit of 4 bytes");
    }

    #[test]
    fn files_outside_the_allowed_directories_are_not_read() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let inside = allowed.path().join("a.yaml");
        let outside = other.path().join("b.yaml");
        std::fs::write(&inside, "a: 1").unwrap();
        std::fs::write(&outside, "b: 1").unwrap();
        let options = LoadOptions {
            allowed_dirs: Some(vec![allowed.path().canonicalize().unwrap()]),
            ..LoadOptions::default()
        };
        let fetcher = Fetcher::new(&options);
        assert!(fetcher.read(&Url::from_file_path(&inside).unwrap()).is_ok());
        let err = fetcher
            .read(&Url::from_file_path(&outside).unwrap())
            .unwrap_err();
        assert_eq!(err, "is outside the allowed directories");
    }

    #[test]
    fn missing_files_say_so() {
        let err = Fetcher::new(&LoadOptions::default())
            .read(&Url::parse("file:///nonexistent/mockloop/api.yaml").unwrap())
            .unwrap_err();
        assert_eq!(err, "no such file");
    }
}
