//! Reading a command's inputs: a checkpoint, with the library's checks, the file
//! named in the error, and a note for a version 1 file, which has no checksum to
//! check; a data file, within the limits, with notes on what it holds.

use std::path::Path;

use anyhow::{Context, bail};
use train::{Checkpoint, Dataset, ReadOptions};

use crate::limits::{InputLimit, available_memory};
use crate::report::advise;
use crate::train_args::Args;

/// Loads the checkpoint `path`; `doing` says what for ("cannot resume from").
pub(crate) fn checkpoint(
    path: &Path,
    doing: &str,
    limit: InputLimit,
) -> anyhow::Result<Checkpoint> {
    let checkpoint = Checkpoint::load_with(path, limit.bytes(), available_memory())
        .map_err(|err| advise(err, false))
        .with_context(|| format!("{doing} {}", path.display()))?;
    if checkpoint.version == 1 {
        note!(
            "note: {} is a version 1 checkpoint, which has no checksum, so corruption cannot be detected; a checkpoint saved now is version {}",
            path.display(),
            train::CHECKPOINT_VERSION
        );
    }
    Ok(checkpoint)
}

/// Reads a data file for the run, within `--max-input-mb` and the memory left,
/// and says what it found worth knowing: a byte-order mark, control characters.
/// An `exact` run keeps a byte-order mark as a character, as the reference does.
pub(crate) fn data(path: &Path, args: &Args, exact: bool) -> anyhow::Result<Dataset> {
    if path.as_os_str() == "-" {
        bail!(
            "--data -: reading standard input is not supported (a run may need its data again to resume); give the path of a file"
        );
    }
    let options = ReadOptions {
        max_bytes: args.limit.bytes(),
        memory_limit: crate::limits::available_memory(),
        keep_bom: exact,
    };
    let dataset = Dataset::load_with(path, &options).map_err(|err| advise(err, false))?;
    let notes = &dataset.notes;
    match notes.bom {
        Some(false) => note!(
            "note: {} starts with a byte-order mark (U+FEFF); it is dropped, not read as a character",
            dataset.name
        ),
        Some(true) => note!(
            "note: {} starts with a byte-order mark (U+FEFF); an exact run keeps it as a character of the first document, as the reference does",
            dataset.name
        ),
        None => {}
    }
    if notes.control_count > 0 {
        let listed: Vec<String> = notes
            .control
            .iter()
            .map(|(line, ch)| format!("{ch:?} on line {line}"))
            .collect();
        let more = notes.control_count - notes.control.len();
        let more = if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        };
        note!(
            "note: {} holds {} control character{} inside documents, which become characters of the vocabulary: {}{more}",
            dataset.name,
            notes.control_count,
            if notes.control_count == 1 { "" } else { "s" },
            listed.join(", ")
        );
    }
    Ok(dataset)
}
