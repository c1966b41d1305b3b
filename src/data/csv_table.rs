//! Numeric CSV files with a header row.

use mtl_plugin::SourceError;
use std::path::Path;

/// Column names and the values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    pub header: Vec<String>,
    pub rows: usize,
    pub values: Vec<f64>,
}

impl CsvTable {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    pub fn column(&self, index: usize) -> Vec<f64> {
        let w = self.header.len();
        (0..self.rows).map(|r| self.values[r * w + index]).collect()
    }
}

/// Reads every cell as a number; a cell that is not one is an error naming its line and column.
pub fn read_csv(path: &Path, key: &str) -> Result<CsvTable, SourceError> {
    let file = std::fs::File::open(path).map_err(|e| {
        SourceError::new(path, format!("cannot read the file named by `{key}`: {e}"))
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| SourceError::new(path, format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if let Some((i, dup)) = header
        .iter()
        .enumerate()
        .find(|(i, h)| header[..*i].contains(h))
    {
        return Err(SourceError::new(
            path,
            format!("the header names column `{dup}` twice (column {})", i + 1),
        ));
    }
    let mut values = Vec::new();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.map_err(|e| SourceError::new(path, format!("malformed CSV: {e}")))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() != header.len() {
            return Err(SourceError::new(
                path,
                format!(
                    "line {line}: {} fields, the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
        }
        for (cell, name) in record.iter().zip(&header) {
            let v: f64 = cell.trim().parse().map_err(|_| {
                SourceError::new(
                    path,
                    format!("line {line}, column `{name}`: `{cell}` is not a number"),
                )
            })?;
            // Training runs in f32: NaN, ±inf and values beyond ±3.4e38 cannot be used.
            if !(v as f32).is_finite() {
                return Err(SourceError::new(
                    path,
                    format!("line {line}, column `{name}`: `{cell}` is not a finite 32-bit number"),
                ));
            }
            values.push(v);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(SourceError::new(path, "the file has a header but no rows"));
    }
    Ok(CsvTable {
        header,
        rows,
        values,
    })
}
