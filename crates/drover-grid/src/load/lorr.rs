//! League of Robot Runners instances (2023 and 2024): instance JSON, agents and tasks files.

use super::{LoadError, LoadErrorKind, check_location, numbered_lines, parse_num};
use crate::{Cell, Grid};

/// Which competition year's rules an instance follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LorrVersion {
    /// Round-robin errands: agent k's c-th errand is `tasks[c*n + k]`.
    Y2023,
    /// Revealed task pool of `numTasksReveal x teamSize` multi-errand tasks and a scheduler.
    Y2024,
}

/// A LoRR instance JSON. Paths are relative to the JSON file.
#[derive(Clone, Debug, PartialEq)]
pub struct LorrInstance {
    /// The map file.
    pub map_file: String,
    /// The agents (start locations) file.
    pub agent_file: String,
    /// Number of agents used (the first `team_size` starts).
    pub team_size: usize,
    /// The tasks file.
    pub task_file: String,
    /// 2023: errands visible per agent; 2024: pool size multiplier.
    pub num_tasks_reveal: f64,
    /// Which rules apply.
    pub version: LorrVersion,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInstance {
    map_file: String,
    agent_file: String,
    team_size: usize,
    task_file: String,
    #[serde(default)]
    num_tasks_reveal: Option<f64>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    task_assignment_strategy: Option<String>,
}

/// Parses an instance JSON. 2024 files carry `"version": "2024 LoRR"`; others are 2023.
pub fn parse_lorr_instance(file: &str, text: &str) -> Result<LorrInstance, LoadError> {
    let raw: RawInstance = serde_json::from_str(text).map_err(|e| {
        LoadError::new(
            file,
            e.line().max(1),
            e.column().max(1),
            LoadErrorKind::Syntax(e.to_string()),
        )
    })?;
    let version = match raw.version.as_deref() {
        Some(v) if v.contains("2024") => LorrVersion::Y2024,
        _ => LorrVersion::Y2023,
    };
    if version == LorrVersion::Y2023
        && let Some(strategy) = raw.task_assignment_strategy.as_deref()
        && strategy != "roundrobin"
    {
        return Err(LoadError::new(
            file,
            1,
            1,
            LoadErrorKind::Invalid(format!(
                "taskAssignmentStrategy {strategy:?} is not supported (only \"roundrobin\")"
            )),
        ));
    }
    if raw.team_size == 0 {
        return Err(LoadError::new(
            file,
            1,
            1,
            LoadErrorKind::Invalid("teamSize must be at least 1".into()),
        ));
    }
    Ok(LorrInstance {
        map_file: raw.map_file,
        agent_file: raw.agent_file,
        team_size: raw.team_size,
        task_file: raw.task_file,
        num_tasks_reveal: raw.num_tasks_reveal.unwrap_or(1.0),
        version,
    })
}

/// Parses an agents file (`#` comment lines skipped, a count, then one location per line) and
/// returns the first `team_size` starts.
pub fn parse_lorr_agents(
    file: &str,
    text: &str,
    grid: &Grid,
    team_size: usize,
) -> Result<Vec<Cell>, LoadError> {
    let entries = parse_counted_lines(file, text, grid, "agents")?;
    if entries.len() < team_size {
        return Err(LoadError::new(
            file,
            numbered_lines(text).count() + 1,
            1,
            LoadErrorKind::TooFew {
                what: "agent starts".into(),
                found: entries.len(),
                expected: team_size,
            },
        ));
    }
    let mut starts = Vec::with_capacity(team_size);
    for (line, cells) in entries.into_iter().take(team_size) {
        if cells.len() != 1 {
            return Err(LoadError::new(
                file,
                line,
                1,
                LoadErrorKind::Invalid(format!(
                    "an agent line holds one location, found {}",
                    cells.len()
                )),
            ));
        }
        starts.push(cells[0]);
    }
    Ok(starts)
}

/// Parses a tasks file: a count, then one task per line. A 2023 task is one errand location;
/// a 2024 task is comma-separated errand locations.
pub fn parse_lorr_tasks(file: &str, text: &str, grid: &Grid) -> Result<Vec<Vec<Cell>>, LoadError> {
    let entries = parse_counted_lines(file, text, grid, "tasks")?;
    if entries.is_empty() {
        return Err(LoadError::new(
            file,
            1,
            1,
            LoadErrorKind::Invalid("the task file holds no tasks".into()),
        ));
    }
    Ok(entries.into_iter().map(|(_, cells)| cells).collect())
}

/// `#` lines skipped; first line a count; then that many lines of comma-separated locations.
fn parse_counted_lines(
    file: &str,
    text: &str,
    grid: &Grid,
    what: &str,
) -> Result<Vec<(usize, Vec<Cell>)>, LoadError> {
    let mut lines = numbered_lines(text)
        .filter(|(_, l)| !l.trim_start().starts_with('#') && !l.trim().is_empty());
    let Some((n, first)) = lines.next() else {
        return Err(LoadError::unexpected_end(
            file,
            1,
            &format!("the number of {what}"),
        ));
    };
    let count: usize = parse_num(file, n, 1, first, &format!("the number of {what}"))?;
    let mut out = Vec::with_capacity(count.min(1 << 20));
    let mut last = n;
    for (n, line) in lines.take(count) {
        last = n;
        let mut cells = Vec::with_capacity(2);
        let mut column = 1;
        for field in line.split(',') {
            let location: i64 =
                parse_num(file, n, column, field, "a location (row * width + col)")?;
            cells.push(check_location(grid, file, n, column, location)?);
            column += field.len() + 1;
        }
        out.push((n, cells));
    }
    if out.len() < count {
        return Err(LoadError::new(
            file,
            last + 1,
            1,
            LoadErrorKind::TooFew {
                what: format!("lines of {what}"),
                found: out.len(),
                expected: count,
            },
        ));
    }
    Ok(out)
}
