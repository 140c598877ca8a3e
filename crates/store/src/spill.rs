//! The spill file: JSON lines holding rows the writer could not get into the database.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::capture::Row;
use crate::error::StoreError;

/// Appends rows to one spill file, created on first use.
#[derive(Debug)]
pub(crate) struct Spill {
    path: PathBuf,
    file: Option<File>,
    rows: u64,
}

impl Spill {
    /// The file is `<db file name>.spill-<UTC time>.jsonl` in `dir`; the time keeps the
    /// spills of successive runs apart.
    pub fn new(dir: &Path, db_name: &str) -> Spill {
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
        let path = dir.join(format!("{db_name}.spill-{stamp}.jsonl"));
        Spill {
            path,
            file: None,
            rows: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written to the file so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends `rows` and syncs, so that what is reported as spilled is on disk.
    pub fn append(&mut self, rows: &[Row]) -> std::io::Result<()> {
        if self.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.file = Some(file);
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let mut out = BufWriter::new(&*file);
        for row in rows {
            serde_json::to_writer(&mut out, row)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        drop(out);
        file.sync_data()?;
        self.rows += rows.len() as u64;
        Ok(())
    }
}

/// Reads every row of a spill file.
pub(crate) fn read(path: &Path) -> Result<Vec<Row>, StoreError> {
    let read_err = |source| StoreError::SpillRead {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let mut rows = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read_err)?;
        if line.trim().is_empty() {
            continue;
        }
        let row = serde_json::from_str(&line).map_err(|source| StoreError::SpillFormat {
            path: path.to_owned(),
            line: index + 1,
            source,
        })?;
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Capture, Row};
    use crate::record::LogRecord;

    #[test]
    fn rows_survive_a_round_trip_through_a_spill_file() {
        let dir = tempfile::tempdir().unwrap();
        let capture = Capture {
            max_body_bytes: 16,
            redact: Vec::new(),
            redact_query: Vec::new(),
        };
        let record = LogRecord {
            uri: "/a?b=c".parse().unwrap(),
            response_body: bytes::Bytes::from_static(&[0, 1, 2, 255]),
            ..Default::default()
        };
        let rows = vec![
            Row::capture(record.clone(), &capture),
            Row::capture(record, &capture),
        ];
        let mut spill = Spill::new(dir.path(), "x.db");
        spill.append(&rows[..1]).unwrap();
        spill.append(&rows[1..]).unwrap();
        assert_eq!(spill.rows(), 2);
        assert_eq!(read(spill.path()).unwrap(), rows);
    }

    #[test]
    fn a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "\nnot json\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.ends_with("bad.jsonl' line 2 is not a log row"), "{err}");
    }
}
