//! drover's own floor layout for a sortable fulfilment centre: a character map plus named
//! stations, chargers and pods, in TOML (see `config/floors/demo.toml`).

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::{LoadError, LoadErrorKind, row_symbols};
use crate::{Cell, CellKind, Grid, Heading};

/// What associates do at a station.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StationKind {
    /// Items are picked from a presented pod.
    Pick,
    /// Items are stowed into a presented pod.
    Stow,
    /// Totes are packed.
    Pack,
}

impl StationKind {
    /// The kind as written in floor files: `pick`, `stow`, `pack`.
    pub fn name(self) -> &'static str {
        match self {
            StationKind::Pick => "pick",
            StationKind::Stow => "stow",
            StationKind::Pack => "pack",
        }
    }
}

/// A station: where the associate works, and the lane robots queue in to get there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Station {
    /// Unique name.
    pub name: String,
    /// What happens there.
    pub kind: StationKind,
    /// The cell where a robot presents its pod to the associate.
    pub face: Cell,
    /// Queue lane cells, entry first; the last one is next to the face.
    pub queue: Vec<Cell>,
    /// Most robots with pods this station takes at once (face plus queue); at most
    /// `queue.len() + 1`, which is the default.
    pub capacity: usize,
    /// The only cell a robot may leave the face to, when given (straight ahead lets the
    /// next pod follow in the same tick).
    pub exit: Option<Cell>,
}

/// A storage pod as the floor file places it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSpec {
    /// Unique id (`pod-0001` … for pods drawn as `P`).
    pub id: String,
    /// The storage slot it stands in.
    pub cell: Cell,
    /// SKU to quantity; empty when the file gives none.
    pub contents: BTreeMap<String, u32>,
}

/// A parsed floor layout.
#[derive(Clone, Debug)]
pub struct Floor {
    /// Floor name.
    pub name: String,
    /// Edge length of a cell in metres.
    pub cell_size_m: f64,
    /// The grid, with one-way highways applied.
    pub grid: Grid,
    /// Stations in file order.
    pub stations: Vec<Station>,
    /// Named chargers in file order.
    pub chargers: Vec<(String, Cell)>,
    /// Storage slots.
    pub storage: Vec<Cell>,
    /// Park cells.
    pub park: Vec<Cell>,
    /// Pods, in row-major order of their slots.
    pub pods: Vec<PodSpec>,
    /// Restricted cells (`x`): off-limits to robots, kept apart from walls for the dashboard.
    pub restricted: Vec<Cell>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFloor {
    name: String,
    cell_size_m: f64,
    map: Spanned<String>,
    #[serde(default)]
    station: Vec<Spanned<RawStation>>,
    #[serde(default)]
    charger: Vec<Spanned<RawCharger>>,
    #[serde(default)]
    pod: Vec<Spanned<RawPod>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPod {
    id: String,
    cell: [u32; 2],
    #[serde(default)]
    contents: BTreeMap<String, u32>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStation {
    name: String,
    kind: StationKind,
    face: [u32; 2],
    queue: Vec<[u32; 2]>,
    capacity: Option<usize>,
    exit: Option<[u32; 2]>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCharger {
    name: String,
    cell: [u32; 2],
}

/// Parses and validates a floor layout.
///
/// Map legend: `#` wall, `x` restricted, `.` travel, `s` empty storage slot, `P` storage slot
/// holding a pod, `q` queue lane, `f` station face, `c` charger, `p` park, and `>` `<` `^` `v`
/// one-way highway cells: no robot moves against the arrow into or out of such a cell.
///
/// Queue lanes are entered only at their first cell and left only towards the face; the face
/// is entered only from the lane. Validation rejects queues that do not lead to their face,
/// stations, chargers, park cells or pods that the storage field cannot reach (or that cannot
/// reach it back), pods off storage slots, two pods in one slot and duplicate names or ids.
pub fn parse_floor(file: &str, text: &str) -> Result<Floor, LoadError> {
    let at = |span: Range<usize>, kind: LoadErrorKind| {
        let (line, column) = line_col(text, span.start);
        LoadError::new(file, line, column, kind)
    };
    let raw: RawFloor = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        LoadError::new(
            file,
            line,
            column,
            LoadErrorKind::Syntax(e.message().trim().to_string()),
        )
    })?;
    if !(raw.cell_size_m > 0.0 && raw.cell_size_m.is_finite()) {
        return Err(LoadError::new(
            file,
            1,
            1,
            LoadErrorKind::Invalid("cell_size_m must be a positive number".into()),
        ));
    }
    // TOML drops the newline right after `"""`, so map row r sits r+1 lines below the quotes.
    let (map_line, _) = line_col(text, raw.map.span().start);
    let rows: Vec<&str> = raw
        .map
        .get_ref()
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    if rows.is_empty() {
        return Err(at(
            raw.map.span(),
            LoadErrorKind::Invalid("the map is empty".into()),
        ));
    }
    let width = rows[0].chars().count();
    let height = rows.len();
    let mut kinds = Vec::with_capacity(width * height);
    let mut arrows = Vec::new();
    let mut pod_cells = Vec::new();
    let mut restricted = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let line = map_line + 1 + r;
        let symbols = row_symbols(file, line, row, width)?;
        for (c, symbol) in symbols.into_iter().enumerate() {
            let kind = match symbol {
                '#' | '@' => CellKind::Obstacle,
                'x' => {
                    restricted.push(Cell((r * width + c) as u32));
                    CellKind::Obstacle
                }
                '.' => CellKind::Travel,
                's' => CellKind::Storage,
                'P' => {
                    pod_cells.push(Cell((r * width + c) as u32));
                    CellKind::Storage
                }
                'q' => CellKind::StationQueue,
                'f' => CellKind::StationFace,
                'c' => CellKind::Charger,
                'p' => CellKind::Park,
                '>' | '<' | '^' | 'v' => {
                    let heading = match symbol {
                        '>' => Heading::East,
                        '<' => Heading::West,
                        '^' => Heading::North,
                        _ => Heading::South,
                    };
                    arrows.push((Cell((r * width + c) as u32), heading));
                    CellKind::Travel
                }
                other => {
                    return Err(LoadError::new(
                        file,
                        line,
                        c + 1,
                        LoadErrorKind::UnknownSymbol { symbol: other },
                    ));
                }
            };
            kinds.push(kind);
        }
    }
    let mut grid = Grid::new(width as u32, height as u32, kinds);
    for (cell, heading) in arrows {
        // Against the flow: leaving backwards, or entering from the cell ahead.
        grid.set_edge(cell, heading.opposite(), false);
        if let Some(ahead) = grid.raw_neighbor(cell, heading) {
            grid.set_edge(ahead, heading.opposite(), false);
        }
    }
    let cell_of = |pos: [u32; 2], span: Range<usize>, what: &str| -> Result<Cell, LoadError> {
        match grid.cell_at(pos[0] as i64, pos[1] as i64) {
            Some(cell) => Ok(cell),
            None => Err(at(
                span,
                LoadErrorKind::Invalid(format!(
                    "{what} [{}, {}] is outside the {width} x {height} map",
                    pos[0], pos[1]
                )),
            )),
        }
    };
    let mut names = std::collections::BTreeSet::new();
    let mut stations = Vec::new();
    for spanned in &raw.station {
        let span = spanned.span();
        let s = spanned.get_ref();
        if !names.insert(s.name.clone()) {
            return Err(at(
                span,
                LoadErrorKind::Invalid(format!("duplicate name {:?}", s.name)),
            ));
        }
        let face = cell_of(s.face, span.clone(), "face")?;
        if grid.kind(face) != CellKind::StationFace {
            return Err(at(
                span,
                LoadErrorKind::Invalid(format!(
                    "station {:?}: face {:?} is not an `f` cell",
                    s.name, s.face
                )),
            ));
        }
        let mut queue = Vec::with_capacity(s.queue.len());
        for pos in &s.queue {
            let cell = cell_of(*pos, span.clone(), "queue cell")?;
            if grid.kind(cell) != CellKind::StationQueue {
                return Err(at(
                    span,
                    LoadErrorKind::Invalid(format!(
                        "station {:?}: queue cell {pos:?} is not a `q` cell",
                        s.name
                    )),
                ));
            }
            queue.push(cell);
        }
        // Each queue cell leads to the next, the last to the face.
        let mut path = queue.clone();
        path.push(face);
        for pair in path.windows(2) {
            let leads = grid
                .heading_between(pair[0], pair[1])
                .is_some_and(|h| grid.has_edge(pair[0], h));
            if !leads {
                let (r, c) = grid.row_col(pair[0]);
                return Err(at(
                    span,
                    LoadErrorKind::Invalid(format!(
                        "station {:?}: queue does not lead to its face (no move from [{r}, {c}] to the next cell)",
                        s.name
                    )),
                ));
            }
        }
        let max = queue.len() + 1;
        let capacity = s.capacity.unwrap_or(max);
        if capacity == 0 || capacity > max {
            return Err(at(
                span,
                LoadErrorKind::Invalid(format!(
                    "station {:?}: capacity {capacity} must be between 1 and {max} (queue cells + face)",
                    s.name
                )),
            ));
        }
        let exit = match s.exit {
            None => None,
            Some(pos) => {
                let cell = cell_of(pos, span.clone(), "exit cell")?;
                let next_to_face = grid
                    .heading_between(face, cell)
                    .is_some_and(|h| grid.has_edge(face, h));
                if !next_to_face || queue.contains(&cell) {
                    return Err(at(
                        span,
                        LoadErrorKind::Invalid(format!(
                            "station {:?}: exit {pos:?} is not a free cell next to the face",
                            s.name
                        )),
                    ));
                }
                Some(cell)
            }
        };
        stations.push(Station {
            name: s.name.clone(),
            kind: s.kind,
            face,
            queue,
            capacity,
            exit,
        });
    }
    let mut chargers = Vec::new();
    for spanned in &raw.charger {
        let span = spanned.span();
        let c = spanned.get_ref();
        if !names.insert(c.name.clone()) {
            return Err(at(
                span,
                LoadErrorKind::Invalid(format!("duplicate name {:?}", c.name)),
            ));
        }
        let cell = cell_of(c.cell, span.clone(), "charger cell")?;
        if grid.kind(cell) != CellKind::Charger {
            return Err(at(
                span,
                LoadErrorKind::Invalid(format!(
                    "charger {:?}: cell {:?} is not a `c` cell",
                    c.name, c.cell
                )),
            ));
        }
        chargers.push((c.name.clone(), cell));
    }
    let storage = grid.cells_of(CellKind::Storage);
    let park = grid.cells_of(CellKind::Park);
    let mut pods: Vec<PodSpec> = pod_cells
        .iter()
        .enumerate()
        .map(|(k, &cell)| PodSpec {
            id: format!("pod-{:04}", k + 1),
            cell,
            contents: BTreeMap::new(),
        })
        .collect();
    let mut explicit = BTreeMap::new();
    for spanned in &raw.pod {
        let span = spanned.span();
        let p = spanned.get_ref();
        let cell = cell_of(p.cell, span.clone(), "pod cell")?;
        if grid.kind(cell) != CellKind::Storage {
            return Err(at(
                span,
                LoadErrorKind::Invalid(format!(
                    "pod {:?}: cell {:?} is not a storage slot (`s` or `P`)",
                    p.id, p.cell
                )),
            ));
        }
        if let Some(other) = explicit.insert(cell, p.id.clone()) {
            return Err(at(
                span,
                LoadErrorKind::Invalid(format!(
                    "pod {:?}: slot {:?} already holds pod {other:?}",
                    p.id, p.cell
                )),
            ));
        }
        let spec = PodSpec {
            id: p.id.clone(),
            cell,
            contents: p.contents.clone(),
        };
        // A pod listed on a `P` slot replaces the one drawn there.
        match pods.iter_mut().find(|q| q.cell == cell) {
            Some(slot) => *slot = spec,
            None => pods.push(spec),
        }
    }
    pods.sort_by_key(|p| p.cell);
    let mut ids = std::collections::BTreeSet::new();
    for p in &pods {
        if !ids.insert(p.id.as_str()) {
            let span = raw
                .pod
                .iter()
                .find(|q| q.get_ref().id == p.id)
                .map_or(0..0, |q| q.span());
            return Err(at(
                span,
                LoadErrorKind::Invalid(format!("duplicate pod id {:?}", p.id)),
            ));
        }
    }
    for station in &stations {
        close_lane(&mut grid, station);
    }
    check_reachability(&grid, &stations, &chargers, &park, &storage)
        .map_err(|msg| LoadError::new(file, map_line + 1, 1, LoadErrorKind::Invalid(msg)))?;
    Ok(Floor {
        name: raw.name,
        cell_size_m: raw.cell_size_m,
        grid,
        stations,
        chargers,
        storage,
        park,
        pods,
        restricted,
    })
}

/// Queue lanes are entered only at their first cell and left only towards the face; the face
/// is entered only from the lane.
fn close_lane(grid: &mut Grid, station: &Station) {
    let mut path = station.queue.clone();
    path.push(station.face);
    for (k, &cell) in path.iter().enumerate() {
        let next = path.get(k + 1).copied();
        for h in Heading::ALL {
            let Some(n) = grid.raw_neighbor(cell, h) else {
                continue;
            };
            // Leaving a lane cell: only to the next lane cell; the face only to its exit.
            if k + 1 < path.len() && Some(n) != next {
                grid.set_edge(cell, h, false);
            }
            if k + 1 == path.len() && station.exit.is_some_and(|e| e != n) {
                grid.set_edge(cell, h, false);
            }
            // Entering: only the first lane cell from outside, the rest from the cell before.
            let from_lane = k > 0 && n == path[k - 1];
            if k > 0 && !from_lane {
                grid.set_edge(n, h.opposite(), false);
            }
        }
    }
}

/// Every station, charger, park cell and storage slot must be reachable from the storage
/// field and reach it back.
fn check_reachability(
    grid: &Grid,
    stations: &[Station],
    chargers: &[(String, Cell)],
    park: &[Cell],
    storage: &[Cell],
) -> Result<(), String> {
    let Some(&hub) = storage.first() else {
        return Ok(());
    };
    let from = grid.reachable(hub, true, false);
    let to = grid.reachable(hub, false, false);
    let ok = |c: Cell| from[c.index()] && to[c.index()];
    let pos = |c: Cell| {
        let (r, col) = grid.row_col(c);
        format!("[{r}, {col}]")
    };
    for s in stations {
        if let Some(&c) = s.queue.iter().chain([&s.face]).find(|&&c| !ok(c)) {
            return Err(format!(
                "station {:?} is unreachable: no round trip between the storage field and {}",
                s.name,
                pos(c)
            ));
        }
    }
    for (name, c) in chargers {
        if !ok(*c) {
            return Err(format!(
                "charger {name:?} at {} is unreachable from the storage field",
                pos(*c)
            ));
        }
    }
    // A robot carrying a pod stays out of the other slots: every slot needs a way out to
    // the stations and back in along aisles and highways.
    if let Some(face) = stations.first().map(|s| s.face) {
        let from = grid.reachable(face, true, true);
        let to = grid.reachable(face, false, true);
        let ok_loaded = |c: Cell| from[c.index()] && to[c.index()];
        for c in stations
            .iter()
            .map(|s| s.face)
            .chain(storage.iter().copied())
        {
            if !ok_loaded(c) {
                return Err(format!(
                    "{} {} has no round trip to station {:?} for a robot carrying a pod \
                     (it may not pass under other pods: give the slot an aisle)",
                    if grid.kind(c) == CellKind::Storage {
                        "storage slot"
                    } else {
                        "station face"
                    },
                    pos(c),
                    stations[0].name
                ));
            }
        }
    }
    for &c in park.iter().chain(storage) {
        if !ok(c) {
            return Err(format!(
                "{} {} is unreachable from the storage field",
                if grid.kind(c) == CellKind::Park {
                    "park cell"
                } else {
                    "storage slot"
                },
                pos(c)
            ));
        }
    }
    Ok(())
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
