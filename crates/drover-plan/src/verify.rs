//! The independent step checker: applies each move to its agent's state and reports every
//! illegal action, vertex conflict and swap. It shares no code with the planner's search.

use drover_grid::{Grid, Heading, Motion};

use crate::{AgentId, AgentState, Move, Turn};

/// One thing wrong with a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The move is not an action of the motion model (a `Go` under `Rotate`, a `Forward`
    /// or `Turn` under `Grid4`).
    IllegalAction {
        /// The agent.
        agent: AgentId,
        /// What it tried.
        action: Move,
    },
    /// The move leaves the map, enters an obstacle, or follows no edge (one-way lanes).
    NoEdge {
        /// The agent.
        agent: AgentId,
        /// Where it stood.
        from: AgentState,
        /// The heading it tried to move towards.
        heading: Heading,
    },
    /// Two agents end the step on one cell.
    Vertex {
        /// One agent.
        first: AgentId,
        /// The other.
        second: AgentId,
        /// The shared cell.
        cell: drover_grid::Cell,
    },
    /// Two agents exchange cells.
    Swap {
        /// One agent.
        first: AgentId,
        /// The other.
        second: AgentId,
    },
    /// The number of moves differs from the number of agents.
    WrongLength {
        /// Agents.
        agents: usize,
        /// Moves.
        moves: usize,
    },
}

/// Applies one move to one state, or says why it is illegal.
pub fn apply(
    grid: &Grid,
    motion: Motion,
    agent: AgentId,
    state: AgentState,
    action: Move,
) -> Result<AgentState, Violation> {
    let illegal = || Violation::IllegalAction { agent, action };
    match (motion, action) {
        (_, Move::Wait(_)) => Ok(state),
        (Motion::Grid4, Move::Go(heading)) => match grid.neighbor(state.cell, heading) {
            Some(cell) => Ok(AgentState { cell, heading }),
            None => Err(Violation::NoEdge {
                agent,
                from: state,
                heading,
            }),
        },
        (Motion::Rotate, Move::Forward) => match grid.neighbor(state.cell, state.heading) {
            Some(cell) => Ok(AgentState {
                cell,
                heading: state.heading,
            }),
            None => Err(Violation::NoEdge {
                agent,
                from: state,
                heading: state.heading,
            }),
        },
        (Motion::Rotate, Move::Turn(Turn::Clockwise)) => Ok(AgentState {
            cell: state.cell,
            heading: state.heading.clockwise(),
        }),
        (Motion::Rotate, Move::Turn(Turn::CounterClockwise)) => Ok(AgentState {
            cell: state.cell,
            heading: state.heading.counter_clockwise(),
        }),
        (Motion::Grid4, Move::Forward | Move::Turn(_)) | (Motion::Rotate, Move::Go(_)) => {
            Err(illegal())
        }
    }
}

/// Checks one synchronous step: every move legal for `motion`, no two agents on one cell
/// afterwards, no two agents exchanging cells. Following (entering a cell its occupant
/// leaves) and rotating cycles of three or more are allowed, as in LoRR and RHCR.
///
/// Returns the states after the step, or every violation found.
pub fn verify(
    grid: &Grid,
    motion: Motion,
    before: &[AgentState],
    moves: &[Move],
) -> Result<Vec<AgentState>, Vec<Violation>> {
    if before.len() != moves.len() {
        return Err(vec![Violation::WrongLength {
            agents: before.len(),
            moves: moves.len(),
        }]);
    }
    let mut violations = Vec::new();
    let mut after = Vec::with_capacity(before.len());
    for (i, (state, action)) in before.iter().zip(moves).enumerate() {
        match apply(grid, motion, AgentId(i as u32), *state, *action) {
            Ok(next) => after.push(next),
            Err(v) => {
                violations.push(v);
                after.push(*state);
            }
        }
    }
    // Vertex conflicts: sort (cell, agent) pairs and look at neighbours.
    let mut by_cell: Vec<(u32, u32)> = after
        .iter()
        .enumerate()
        .map(|(i, s)| (s.cell.0, i as u32))
        .collect();
    by_cell.sort_unstable();
    for pair in by_cell.windows(2) {
        if pair[0].0 == pair[1].0 {
            violations.push(Violation::Vertex {
                first: AgentId(pair[0].1),
                second: AgentId(pair[1].1),
                cell: drover_grid::Cell(pair[0].0),
            });
        }
    }
    // Swaps: the agent that stood on my target before now stands where I stood.
    let mut before_by_cell: Vec<(u32, u32)> = before
        .iter()
        .enumerate()
        .map(|(i, s)| (s.cell.0, i as u32))
        .collect();
    before_by_cell.sort_unstable();
    for (i, (from, to)) in before.iter().zip(&after).enumerate() {
        if from.cell == to.cell {
            continue;
        }
        let start = before_by_cell.partition_point(|(c, _)| *c < to.cell.0);
        for &(c, j) in &before_by_cell[start..] {
            if c != to.cell.0 {
                break;
            }
            if (j as usize) > i && after[j as usize].cell == from.cell {
                violations.push(Violation::Swap {
                    first: AgentId(i as u32),
                    second: AgentId(j),
                });
            }
        }
    }
    if violations.is_empty() {
        Ok(after)
    } else {
        Err(violations)
    }
}
