//! MovingAI `.map` (also LoRR's and pibt2's maps) and `.scen` files.

use super::{
    LoadError, LoadErrorKind, cells_capacity, check_location, numbered_lines, parse_num,
    row_symbols, written_location,
};
use crate::{Cell, CellKind, Grid};

/// One row of a `.scen` file: a start and a goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScenAgent {
    /// Start cell.
    pub start: Cell,
    /// Goal cell.
    pub goal: Cell,
}

/// Parses a MovingAI-style map: optional `type octile`, `height H`, `width W`, `map`, then H
/// rows of W symbols. `@ T O W` are obstacles; `. G` travel; `E` and `S` are LoRR's emitter
/// and service points (MovingAI's swamp `S` is traversable too).
pub fn parse_movingai_map(file: &str, text: &str) -> Result<Grid, LoadError> {
    let mut lines = numbered_lines(text).peekable();
    let mut last_line = 0;
    let mut header = |expected: &str,
                      lines: &mut std::iter::Peekable<_>|
     -> Result<(usize, String), LoadError> {
        let next: Option<(usize, &str)> = lines.next();
        match next {
            Some((n, l)) => {
                last_line = n;
                Ok((n, l.to_string()))
            }
            None => Err(LoadError::unexpected_end(file, last_line + 1, expected)),
        }
    };
    let (mut n, mut line) = header("`type octile` or `height H`", &mut lines)?;
    if line.trim_start().starts_with("type") {
        (n, line) = header("`height H`", &mut lines)?;
    }
    let height: u32 = keyed_number(file, n, &line, "height")?;
    let (n, line) = header("`width W`", &mut lines)?;
    let width: u32 = keyed_number(file, n, &line, "width")?;
    let (n, line) = header("`map`", &mut lines)?;
    if line.trim() != "map" {
        return Err(LoadError::bad_header(file, n, 1, "`map`", &line));
    }
    let mut kinds = Vec::with_capacity(cells_capacity(width, height, text));
    let mut rows = 0;
    let mut map_end_line = n;
    for (n, line) in lines.by_ref() {
        if rows == height {
            if line.trim().is_empty() {
                continue;
            }
            return Err(LoadError::new(
                file,
                n,
                1,
                LoadErrorKind::Invalid(format!(
                    "extra map row after the {height} rows the header announces"
                )),
            ));
        }
        map_end_line = n;
        let symbols = row_symbols(file, n, line, width as usize)?;
        for (col, symbol) in symbols.into_iter().enumerate() {
            let kind = match symbol {
                '@' | 'T' | 'O' | 'W' => CellKind::Obstacle,
                '.' | 'G' => CellKind::Travel,
                'E' => CellKind::Emitter,
                'S' => CellKind::Service,
                other => {
                    return Err(LoadError::new(
                        file,
                        n,
                        col + 1,
                        LoadErrorKind::UnknownSymbol { symbol: other },
                    ));
                }
            };
            kinds.push(kind);
        }
        rows += 1;
    }
    if rows < height {
        return Err(LoadError::new(
            file,
            map_end_line + 1,
            1,
            LoadErrorKind::TooFew {
                what: "map rows".into(),
                found: rows as usize,
                expected: height as usize,
            },
        ));
    }
    Ok(Grid::new(width, height, kinds))
}

/// Parses a `.scen` file against its map: `version 1`, then tab-separated
/// `bucket map width height start_x start_y goal_x goal_y optimal_length` (x = column).
pub fn parse_movingai_scen(
    file: &str,
    text: &str,
    grid: &Grid,
) -> Result<Vec<ScenAgent>, LoadError> {
    let mut agents = Vec::new();
    let mut lines = numbered_lines(text);
    match lines.next() {
        Some((_, l)) if l.trim_start().starts_with("version") => {}
        Some((n, l)) => {
            return Err(LoadError::bad_header(file, n, 1, "`version 1`", l));
        }
        None => {
            return Err(LoadError::unexpected_end(file, 1, "`version 1`"));
        }
    }
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 8 {
            return Err(LoadError::new(
                file,
                n,
                line.len() + 1,
                LoadErrorKind::TooFew {
                    what: "tab-separated fields".into(),
                    found: fields.len(),
                    expected: 9,
                },
            ));
        }
        let column_of = |i: usize| fields[..i].iter().map(|f| f.len() + 1).sum::<usize>() + 1;
        let num = |i: usize, what: &str| parse_num::<i64>(file, n, column_of(i), fields[i], what);
        let (w, h) = (num(2, "map width")?, num(3, "map height")?);
        if w != grid.width() as i64 || h != grid.height() as i64 {
            return Err(LoadError::new(
                file,
                n,
                column_of(2),
                LoadErrorKind::Invalid(format!(
                    "scenario is for a {w} x {h} map, but the map is {} x {}",
                    grid.width(),
                    grid.height()
                )),
            ));
        }
        let cell = |xi: usize| -> Result<Cell, LoadError> {
            let (x, y) = (num(xi, "column")?, num(xi + 1, "row")?);
            if x < 0 || y < 0 || x >= w || y >= h {
                return Err(LoadError::new(
                    file,
                    n,
                    column_of(xi),
                    LoadErrorKind::OutOfRange {
                        location: written_location(y, w, x),
                        width: grid.width(),
                        height: grid.height(),
                    },
                ));
            }
            check_location(grid, file, n, column_of(xi), y * w + x)
        };
        let start = cell(4)?;
        let goal = cell(6)?;
        agents.push(ScenAgent { start, goal });
    }
    Ok(agents)
}

fn keyed_number<T: std::str::FromStr>(
    file: &str,
    n: usize,
    line: &str,
    key: &str,
) -> Result<T, LoadError> {
    let mut parts = line.split_whitespace();
    if parts.next() != Some(key) {
        return Err(LoadError::bad_header(
            file,
            n,
            1,
            &format!("`{key} N`"),
            line,
        ));
    }
    let value = parts.next().unwrap_or("");
    parse_num(
        file,
        n,
        key.len() + 2,
        value,
        &format!("a number after `{key}`"),
    )
}
