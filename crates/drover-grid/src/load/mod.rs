//! Parsers for the benchmark map formats and drover's own floor layout.
//!
//! Every parser takes the file's *contents* and a name to put in errors; reading files is the
//! caller's business (this crate does no IO). Broken input gives a [`LoadError`] naming file,
//! line and column, never a panic.

mod floor;
mod lorr;
mod movingai;
mod pibt2;
mod rhcr;

pub use floor::{Floor, PodSpec, Station, StationKind, parse_floor};
pub use lorr::{
    LorrInstance, LorrVersion, parse_lorr_agents, parse_lorr_instance, parse_lorr_tasks,
};
pub use movingai::{ScenAgent, parse_movingai_map, parse_movingai_scen};
pub use pibt2::{PdOverlay, Pibt2Instance, parse_pd_overlay, parse_pibt2_instance};
pub use rhcr::{RhcrMap, parse_kiva_map, parse_sorting_grid};

/// A broken input file: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {kind}")]
pub struct LoadError {
    /// The file name given by the caller.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub kind: LoadErrorKind,
}

/// What is wrong with an input file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadErrorKind {
    /// The file ended before a required part.
    #[error("unexpected end of file: expected {expected}")]
    UnexpectedEnd {
        /// What was still to come.
        expected: String,
    },
    /// A header line is not what the format requires.
    #[error("expected {expected}, found {found:?}")]
    BadHeader {
        /// What the format requires here.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// A field that must be a number is not one.
    #[error("expected {expected}, found {found:?}")]
    BadNumber {
        /// What kind of number.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// A map row has a different width than the header says.
    #[error("map row has width {width}, expected {expected}")]
    RaggedRow {
        /// Width found.
        width: usize,
        /// Width from the header.
        expected: usize,
    },
    /// A map symbol the format does not define.
    #[error("unknown map symbol {symbol:?}")]
    UnknownSymbol {
        /// The symbol.
        symbol: char,
    },
    /// Fewer rows or entries than announced.
    #[error("found {found} {what}, expected {expected}")]
    TooFew {
        /// Rows, agents, tasks, cells …
        what: String,
        /// How many were found.
        found: usize,
        /// How many were announced.
        expected: usize,
    },
    /// A location outside the map.
    #[error("location {location} is outside the map ({width} x {height})")]
    OutOfRange {
        /// The location as written (cell id, or `row*width+col`).
        location: i64,
        /// Map width.
        width: u32,
        /// Map height.
        height: u32,
    },
    /// A location on an obstacle.
    #[error("location {location} (row {row}, column {col}) is an obstacle")]
    OnObstacle {
        /// Cell id.
        location: u32,
        /// Row.
        row: u32,
        /// Column.
        col: u32,
    },
    /// A JSON or TOML syntax or type error.
    #[error("{0}")]
    Syntax(String),
    /// Anything else the format forbids, explained.
    #[error("{0}")]
    Invalid(String),
}

impl LoadError {
    pub(crate) fn new(file: &str, line: usize, column: usize, kind: LoadErrorKind) -> LoadError {
        LoadError {
            file: file.to_string(),
            line,
            column,
            kind,
        }
    }

    /// A header line that is not what the format wants there.
    pub(crate) fn bad_header(
        file: &str,
        line: usize,
        column: usize,
        expected: &str,
        found: &str,
    ) -> LoadError {
        let (expected, found) = (expected.into(), found.into());
        LoadError::new(
            file,
            line,
            column,
            LoadErrorKind::BadHeader { expected, found },
        )
    }

    /// The text ended where `expected` should have followed.
    pub(crate) fn unexpected_end(file: &str, line: usize, expected: &str) -> LoadError {
        let expected = expected.into();
        LoadError::new(file, line, 1, LoadErrorKind::UnexpectedEnd { expected })
    }
}

/// The symbols of map row `text` (line `line`), which must be `width` wide.
pub(crate) fn row_symbols(
    file: &str,
    line: usize,
    text: &str,
    width: usize,
) -> Result<Vec<char>, LoadError> {
    let symbols: Vec<char> = text.chars().collect();
    if symbols.len() != width {
        let kind = LoadErrorKind::RaggedRow {
            width: symbols.len(),
            expected: width,
        };
        return Err(LoadError::new(
            file,
            line,
            symbols.len().min(width) + 1,
            kind,
        ));
    }
    Ok(symbols)
}

/// Room to reserve for the cells of a `width` x `height` map read from `text`: never more than
/// the text can hold (a cell takes a byte at least), so a header announcing a huge map fails on
/// its missing rows, not on an allocation.
pub(crate) fn cells_capacity(width: u32, height: u32, text: &str) -> usize {
    (width as usize)
        .saturating_mul(height as usize)
        .min(text.len())
}

/// `row * width + col` as written in a file, for an error message: the numbers are the file's,
/// so this saturates instead of overflowing.
pub(crate) fn written_location(row: i64, width: i64, col: i64) -> i64 {
    row.saturating_mul(width).saturating_add(col)
}

/// Lines of a text with 1-based numbers, `\r` stripped.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}

/// Parses a number field, pointing at `column` on failure.
pub(crate) fn parse_num<T: std::str::FromStr>(
    file: &str,
    line: usize,
    column: usize,
    field: &str,
    expected: &str,
) -> Result<T, LoadError> {
    field.trim().parse().map_err(|_| {
        LoadError::new(
            file,
            line,
            column,
            LoadErrorKind::BadNumber {
                expected: expected.to_string(),
                found: field.trim().to_string(),
            },
        )
    })
}

/// Checks that a cell id read from a file lies on a free cell of `grid`.
pub(crate) fn check_location(
    grid: &crate::Grid,
    file: &str,
    line: usize,
    column: usize,
    location: i64,
) -> Result<crate::Cell, LoadError> {
    if location < 0 || location >= grid.n_cells() as i64 {
        return Err(LoadError::new(
            file,
            line,
            column,
            LoadErrorKind::OutOfRange {
                location,
                width: grid.width(),
                height: grid.height(),
            },
        ));
    }
    let cell = crate::Cell(location as u32);
    if grid.is_blocked(cell) {
        let (row, col) = grid.row_col(cell);
        return Err(LoadError::new(
            file,
            line,
            column,
            LoadErrorKind::OnObstacle {
                location: cell.0,
                row,
                col,
            },
        ));
    }
    Ok(cell)
}
