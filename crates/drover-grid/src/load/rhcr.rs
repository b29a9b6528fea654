//! RHCR maps: `kiva.map` (undirected) and `sorting_map.grid` (every edge one-way).

use super::{
    LoadError, LoadErrorKind, cells_capacity, numbered_lines, parse_num, row_symbols,
    written_location,
};
use crate::{Cell, CellKind, Grid, Heading};

/// An RHCR map with its special cells.
#[derive(Clone, Debug)]
pub struct RhcrMap {
    /// The floor.
    pub grid: Grid,
    /// kiva: endpoints (`e`); sorting: eject cells.
    pub endpoints: Vec<Cell>,
    /// kiva: robot homes (`r`); sorting: induct cells.
    pub homes: Vec<Cell>,
}

/// Parses `kiva.map`: `rows,cols`, endpoint count, home count, maxtime, then the grid with
/// `.` travel, `@` obstacle, `e` endpoint, `r` home.
pub fn parse_kiva_map(file: &str, text: &str) -> Result<RhcrMap, LoadError> {
    let mut lines = numbered_lines(text);
    let mut next = |expected: &str| {
        lines
            .next()
            .ok_or_else(|| LoadError::unexpected_end(file, 1, expected))
    };
    let (n, size) = next("`rows,cols`")?;
    let Some((rows, cols)) = size.split_once(',') else {
        return Err(LoadError::bad_header(file, n, 1, "`rows,cols`", size));
    };
    let height: u32 = parse_num(file, n, 1, rows, "a row count")?;
    let width: u32 = parse_num(file, n, rows.len() + 2, cols, "a column count")?;
    let (n, endpoints) = next("the endpoint count")?;
    let n_endpoints: usize = parse_num(file, n, 1, endpoints, "the endpoint count")?;
    let (n, homes) = next("the home count")?;
    let n_homes: usize = parse_num(file, n, 1, homes, "the home count")?;
    let (n, maxtime) = next("maxtime")?;
    let _maxtime: u64 = parse_num(file, n, 1, maxtime, "maxtime")?;
    let mut kinds = Vec::with_capacity(cells_capacity(width, height, text));
    let mut n_rows = 0;
    let mut last = n;
    for (n, line) in lines {
        if n_rows == height {
            break;
        }
        last = n;
        let symbols = row_symbols(file, n, line, width as usize)?;
        for (col, symbol) in symbols.into_iter().enumerate() {
            kinds.push(match symbol {
                '.' => CellKind::Travel,
                '@' => CellKind::Obstacle,
                'e' => CellKind::Endpoint,
                'r' => CellKind::Home,
                other => {
                    return Err(LoadError::new(
                        file,
                        n,
                        col + 1,
                        LoadErrorKind::UnknownSymbol { symbol: other },
                    ));
                }
            });
        }
        n_rows += 1;
    }
    if n_rows < height {
        return Err(LoadError::new(
            file,
            last + 1,
            1,
            LoadErrorKind::TooFew {
                what: "map rows".into(),
                found: n_rows as usize,
                expected: height as usize,
            },
        ));
    }
    let grid = Grid::new(width, height, kinds);
    let endpoints = grid.cells_of(CellKind::Endpoint);
    let homes = grid.cells_of(CellKind::Home);
    for (what, found, expected) in [
        ("endpoints", endpoints.len(), n_endpoints),
        ("homes", homes.len(), n_homes),
    ] {
        if found != expected {
            return Err(LoadError::new(
                file,
                if what == "endpoints" { 2 } else { 3 },
                1,
                LoadErrorKind::Invalid(format!(
                    "the header announces {expected} {what}, the map has {found}"
                )),
            ));
        }
    }
    Ok(RhcrMap {
        grid,
        endpoints,
        homes,
    })
}

/// Parses `sorting_map.grid`: `Grid size (x, y)`, `X,Y`, a CSV header, then one line per cell
/// `id,type,station,x,y,w0,w1,w2,w3,wait`. The cell is taken from the `x,y` columns (x =
/// column, y = row). The four weights are the edges towards +y, -x, -y, +x (RHCR's reading
/// order, whatever the header labels say); `inf` means no edge.
pub fn parse_sorting_grid(file: &str, text: &str) -> Result<RhcrMap, LoadError> {
    let mut lines = numbered_lines(text);
    let mut next = |expected: &str| {
        lines
            .next()
            .ok_or_else(|| LoadError::unexpected_end(file, 1, expected))
    };
    let (n, title) = next("`Grid size (x, y)`")?;
    if !title.starts_with("Grid size") {
        return Err(LoadError::bad_header(
            file,
            n,
            1,
            "`Grid size (x, y)`",
            title,
        ));
    }
    let (size_line, size) = next("`X,Y`")?;
    let Some((xs, ys)) = size.split_once(',') else {
        return Err(LoadError::bad_header(file, size_line, 1, "`X,Y`", size));
    };
    let width: u32 = parse_num(file, size_line, 1, xs, "the x size")?;
    let height: u32 = parse_num(file, size_line, xs.len() + 2, ys, "the y size")?;
    let (n, header) = next("the CSV header")?;
    if !header.starts_with("id,type") {
        return Err(LoadError::bad_header(
            file,
            n,
            1,
            "`id,type,station,x,y,...`",
            header,
        ));
    }
    if width == 0 || height == 0 {
        return Err(LoadError::new(
            file,
            size_line,
            1,
            LoadErrorKind::Invalid(format!("a {width} x {height} grid has no cells")),
        ));
    }
    let n_cells = width as usize * height as usize;
    // A line per cell: a size the rest of the file cannot hold is refused before the cells
    // are allocated.
    let lines_left = text.lines().count().saturating_sub(n);
    if n_cells > lines_left {
        return Err(LoadError::new(
            file,
            size_line,
            1,
            LoadErrorKind::Invalid(format!(
                "a {width} x {height} grid needs {n_cells} cell lines, the file has {lines_left} more"
            )),
        ));
    }
    let mut kinds: Vec<Option<CellKind>> = vec![None; n_cells];
    let mut edges: Vec<(usize, usize, Cell, [bool; 4])> = Vec::with_capacity(n_cells);
    let mut last = n;
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        last = n;
        let fields: Vec<&str> = line.split(',').collect();
        let column_of = |i: usize| fields[..i].iter().map(|f| f.len() + 1).sum::<usize>() + 1;
        if fields.len() != 10 {
            return Err(LoadError::new(
                file,
                n,
                1,
                LoadErrorKind::Invalid(format!(
                    "a cell line has 10 comma-separated fields, found {}",
                    fields.len()
                )),
            ));
        }
        let kind = match fields[1] {
            "Travel" => CellKind::Travel,
            "Obstacle" => CellKind::Obstacle,
            "Induct" => CellKind::Induct,
            "Eject" => CellKind::Eject,
            other => {
                return Err(LoadError::new(
                    file,
                    n,
                    column_of(1),
                    LoadErrorKind::Invalid(format!(
                        "unknown cell type {other:?} (expected Travel, Obstacle, Induct or Eject)"
                    )),
                ));
            }
        };
        let x: u32 = parse_num(file, n, column_of(3), fields[3], "the x coordinate")?;
        let y: u32 = parse_num(file, n, column_of(4), fields[4], "the y coordinate")?;
        if x >= width || y >= height {
            return Err(LoadError::new(
                file,
                n,
                column_of(3),
                LoadErrorKind::OutOfRange {
                    location: written_location(y.into(), width.into(), x.into()),
                    width,
                    height,
                },
            ));
        }
        let cell = Cell(y * width + x);
        if kinds[cell.index()].is_some() {
            return Err(LoadError::new(
                file,
                n,
                column_of(3),
                LoadErrorKind::Invalid(format!("cell x={x}, y={y} is listed twice")),
            ));
        }
        kinds[cell.index()] = Some(kind);
        let mut present = [false; 4];
        for (i, slot) in present.iter_mut().enumerate() {
            let field = fields[5 + i].trim();
            *slot = if field == "inf" {
                false
            } else {
                let _: f64 =
                    parse_num(file, n, column_of(5 + i), field, "an edge weight or `inf`")?;
                true
            };
        }
        edges.push((n, column_of(5), cell, present));
    }
    let missing = kinds.iter().filter(|k| k.is_none()).count();
    if missing > 0 {
        return Err(LoadError::new(
            file,
            last + 1,
            1,
            LoadErrorKind::TooFew {
                what: "cells".into(),
                found: n_cells - missing,
                expected: n_cells,
            },
        ));
    }
    let mut grid = Grid::new(
        width,
        height,
        kinds
            .into_iter()
            .map(|k| k.expect("checked above"))
            .collect(),
    );
    grid.clear_edges();
    // RHCR's order: +y (row+1, south), -x (west), -y (north), +x (east).
    let order = [Heading::South, Heading::West, Heading::North, Heading::East];
    for (n, column, cell, present) in edges {
        for (i, heading) in order.into_iter().enumerate() {
            if present[i] && grid.is_free(cell) && !grid.set_edge(cell, heading, true) {
                return Err(LoadError::new(
                    file,
                    n,
                    column,
                    LoadErrorKind::Invalid(format!(
                        "edge towards {heading:?} leads off the map or into an obstacle"
                    )),
                ));
            }
        }
    }
    let endpoints = grid.cells_of(CellKind::Eject);
    let homes = grid.cells_of(CellKind::Induct);
    Ok(RhcrMap {
        grid,
        endpoints,
        homes,
    })
}
