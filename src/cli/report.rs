//! `flightdeck report JOURNAL`: the change report of a session, as Markdown or HTML.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{EXIT_INVALID, ReportFormat};
use crate::report::{Report, ReportError, chart_path_for, write_file};

/// Builds the report of `journal` and writes it to `output` (stdout without one). A
/// missing or corrupt journal exits 2; a file that cannot be written, 1.
pub(super) fn report_cmd(journal: &Path, format: ReportFormat, output: Option<&Path>) -> ExitCode {
    let report = match Report::from_journal(journal) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    match write(&report, format, output) {
        Ok(written) => {
            if !written.is_empty() {
                let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
                println!("wrote {}", names.join(" and "));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the report; returns the files written (none for stdout).
fn write(
    report: &Report,
    format: ReportFormat,
    output: Option<&Path>,
) -> Result<Vec<PathBuf>, ReportError> {
    let (text, mut written) = match (format, output) {
        (ReportFormat::Html, _) => (report.html()?, Vec::new()),
        (ReportFormat::Markdown, None) => (report.markdown(None), Vec::new()),
        (ReportFormat::Markdown, Some(path)) => match report.chart_svg()? {
            Some(svg) => {
                let chart = chart_path_for(path);
                write_file(&chart, &svg)?;
                let link = chart
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (report.markdown(Some(&link)), vec![chart])
            }
            None => (report.markdown(None), Vec::new()),
        },
    };
    match output {
        Some(path) => {
            write_file(path, &text)?;
            written.insert(0, path.to_path_buf());
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|source| ReportError::Write {
                    path: PathBuf::from("standard output"),
                    source,
                })?;
        }
    }
    Ok(written)
}
