//! Unit tests for the grid, the distance tables and the loaders.

use proptest::prelude::*;

use crate::load::{self, LoadError};
use crate::{Cell, CellKind, DistTable, DistanceOracle, Grid, Heading, Motion, UNREACHABLE};

/// A random grid with walls and some edges made one-way.
fn arb_grid() -> impl Strategy<Value = Grid> {
    (2u32..10, 2u32..10).prop_flat_map(|(w, h)| {
        let n = (w * h) as usize;
        (
            proptest::collection::vec(proptest::bool::weighted(0.25), n),
            proptest::collection::vec((0..n, 0usize..4), 0..n),
        )
            .prop_map(move |(walls, one_way)| {
                let kinds = walls
                    .iter()
                    .map(|b| {
                        if *b {
                            CellKind::Obstacle
                        } else {
                            CellKind::Travel
                        }
                    })
                    .collect();
                let mut grid = Grid::new(w, h, kinds);
                for (cell, heading) in one_way {
                    grid.set_edge(Cell(cell as u32), Heading::from_index(heading), false);
                }
                grid
            })
    })
}

proptest! {
    #[test]
    fn grid4_distances_agree_with_pathfinding_bfs(grid in arb_grid(), pick in any::<usize>()) {
        prop_assume!(grid.n_free() > 0);
        let goal = grid.free_cells()[pick % grid.n_free()];
        let table = DistTable::compute(&grid, goal, Motion::Grid4);
        for &from in grid.free_cells() {
            let reference = pathfinding::prelude::bfs(
                &from,
                |c| Heading::ALL.into_iter().filter_map(|h| grid.neighbor(*c, h)).collect::<Vec<_>>(),
                |c| *c == goal,
            );
            let expected = reference.map_or(UNREACHABLE, |p| (p.len() - 1) as u32);
            prop_assert_eq!(table.get(&grid, from, Heading::East), expected);
        }
    }

    #[test]
    fn rotate_distances_agree_with_pathfinding_bfs_over_headings(grid in arb_grid(), pick in any::<usize>()) {
        prop_assume!(grid.n_free() > 0);
        let goal = grid.free_cells()[pick % grid.n_free()];
        let table = DistTable::compute(&grid, goal, Motion::Rotate);
        for &from in grid.free_cells() {
            for heading in Heading::ALL {
                let reference = pathfinding::prelude::bfs(
                    &(from, heading),
                    |(c, h)| {
                        let mut next = vec![(*c, h.clockwise()), (*c, h.counter_clockwise())];
                        if let Some(f) = grid.neighbor(*c, *h) { next.push((f, *h)); }
                        next
                    },
                    |(c, _)| *c == goal,
                );
                let expected = reference.map_or(UNREACHABLE, |p| (p.len() - 1) as u32);
                prop_assert_eq!(table.get(&grid, from, heading), expected);
            }
        }
    }

    #[test]
    fn weighted_distances_agree_with_pathfinding_dijkstra(
        grid in arb_grid(),
        costs in proptest::collection::vec((any::<u32>(), 0usize..4, 2u8..5), 1..30),
        pick in any::<usize>(),
        rotate in any::<bool>(),
    ) {
        prop_assume!(grid.n_free() > 0);
        let mut grid = grid;
        for (cell, heading, cost) in costs {
            let cell = Cell(cell % grid.n_cells() as u32);
            grid.set_edge_cost(cell, Heading::from_index(heading), cost);
        }
        let goal = grid.free_cells()[pick % grid.n_free()];
        let motion = if rotate { Motion::Rotate } else { Motion::Grid4 };
        let table = DistTable::compute(&grid, goal, motion);
        for &from in grid.free_cells() {
            for heading in Heading::ALL {
                let reference = pathfinding::prelude::dijkstra(
                    &(from, heading),
                    |(c, h)| {
                        let mut next = Vec::new();
                        if rotate {
                            next.push(((*c, h.clockwise()), 1));
                            next.push(((*c, h.counter_clockwise()), 1));
                            if let Some(f) = grid.neighbor(*c, *h) {
                                next.push(((f, *h), grid.edge_cost(*c, *h)));
                            }
                        } else {
                            for g in Heading::ALL {
                                if let Some(f) = grid.neighbor(*c, g) {
                                    next.push(((f, *h), grid.edge_cost(*c, g)));
                                }
                            }
                        }
                        next
                    },
                    |(c, _)| *c == goal,
                );
                let expected = reference.map_or(UNREACHABLE, |(_, d)| d);
                prop_assert_eq!(table.get(&grid, from, heading), expected);
            }
        }
    }
}

#[test]
fn one_way_edges_are_respected_by_the_distance_table() {
    let mut grid = Grid::new(3, 1, vec![CellKind::Travel; 3]);
    for cell in [Cell(1), Cell(2)] {
        grid.set_edge(cell, Heading::West, false);
    }
    let to_start = DistTable::compute(&grid, Cell(0), Motion::Grid4);
    assert_eq!(to_start.get(&grid, Cell(2), Heading::East), UNREACHABLE);
    let to_end = DistTable::compute(&grid, Cell(2), Motion::Grid4);
    assert_eq!(to_end.get(&grid, Cell(0), Heading::East), 2);
    assert_eq!(grid.n_one_way_edges(), 2);
}

#[test]
fn turning_costs_a_step_per_quarter_turn() {
    let grid = Grid::new(3, 1, vec![CellKind::Travel; 3]);
    let table = DistTable::compute(&grid, Cell(2), Motion::Rotate);
    assert_eq!(table.get(&grid, Cell(0), Heading::East), 2);
    assert_eq!(table.get(&grid, Cell(0), Heading::North), 3);
    assert_eq!(table.get(&grid, Cell(0), Heading::West), 4);
}

#[test]
fn the_oracle_evicts_old_tables_but_never_within_an_epoch() {
    let grid = Grid::new(10, 10, vec![CellKind::Travel; 100]);
    let one_table = DistTable::compute(&grid, Cell(0), Motion::Grid4).bytes();
    let mut oracle = DistanceOracle::new(&grid, Motion::Grid4, 2 * one_table);
    oracle.begin_epoch();
    let a = oracle.ensure(&grid, Cell(0));
    let b = oracle.ensure(&grid, Cell(1));
    let c = oracle.ensure(&grid, Cell(2));
    // All three were requested in this epoch: the cap is exceeded rather than a handle lost.
    assert_eq!(oracle.stats().held, 3);
    assert_eq!(
        [a, b, c].map(|h| oracle.table(h).goal()),
        [Cell(0), Cell(1), Cell(2)]
    );
    oracle.begin_epoch();
    oracle.ensure(&grid, Cell(2));
    oracle.ensure(&grid, Cell(3));
    assert!(
        oracle.stats().bytes <= 2 * one_table,
        "{:?}",
        oracle.stats()
    );
    assert!(oracle.contains(Cell(2)) && oracle.contains(Cell(3)));
    assert_eq!(oracle.stats().evicted, 2);
}

fn err(result: Result<impl std::fmt::Debug, LoadError>) -> String {
    result.expect_err("input is broken").to_string()
}

#[test]
fn broken_movingai_maps_name_line_and_column() {
    let errors = [
        err(load::parse_movingai_map(
            "t.map",
            "type octile\nheight 2\nwidth 3\nmap\n...\n..\n",
        )),
        err(load::parse_movingai_map(
            "t.map",
            "type octile\nheight 2\nwidth 3\nmap\n...\n.x.\n",
        )),
        err(load::parse_movingai_map(
            "t.map",
            "type octile\nheight 3\nwidth 3\nmap\n...\n",
        )),
        err(load::parse_movingai_map(
            "t.map",
            "type octile\nheight two\nwidth 3\nmap\n",
        )),
        err(load::parse_movingai_map("t.map", "")),
    ];
    insta::assert_snapshot!(errors.join("\n"));
}

#[test]
fn broken_lorr_files_name_line_and_column() {
    let grid = load::parse_movingai_map("m.map", "type octile\nheight 2\nwidth 3\nmap\n.@.\n...\n")
        .unwrap();
    let errors = [
        err(load::parse_lorr_instance(
            "i.json",
            "{\"mapFile\": \"m.map\", \"teamSize\": 3",
        )),
        err(load::parse_lorr_instance("i.json", "{\"mapFile\": 3}")),
        err(load::parse_lorr_agents("a.agents", "2\n0\n", &grid, 2)),
        err(load::parse_lorr_agents("a.agents", "2\n0\n9\n", &grid, 2)),
        err(load::parse_lorr_agents("a.agents", "2\n0\n1\n", &grid, 2)),
        err(load::parse_lorr_tasks(
            "t.tasks",
            "# version for LoRR 2024\n1\n0,x\n",
            &grid,
        )),
        err(load::parse_lorr_tasks("t.tasks", "", &grid)),
    ];
    insta::assert_snapshot!(errors.join("\n"));
}

#[test]
fn broken_rhcr_and_pibt2_files_name_line_and_column() {
    let grid = load::parse_movingai_map("m.map", "height 1\nwidth 3\nmap\n.@.\n").unwrap();
    let errors = [
        err(load::parse_kiva_map("k.map", "2,3\n1\n1\n5000\n.e.\n.r\n")),
        err(load::parse_kiva_map("k.map", "2,3\n2\n1\n5000\n.e.\n.r.\n")),
        err(load::parse_sorting_grid(
            "s.grid",
            "Grid size (x, y)\n1,1\nid,type\n0,Travel,None,0,0,1,inf,inf,inf,1\n",
        )),
        err(load::parse_sorting_grid(
            "s.grid",
            "Grid size (x, y)\n1,1\nid,type\n0,Wall,None,0,0,inf,inf,inf,inf,1\n",
        )),
        err(load::parse_pd_overlay("w.map.pd", "ps.\n", &grid)),
        err(load::parse_pd_overlay("w.map.pd", ".q.\n", &grid)),
        err(load::parse_pibt2_instance(
            "i.txt",
            "map_file=w.map\nagents=many\n",
            None,
        )),
        err(load::parse_pibt2_instance(
            "i.txt",
            "map_file=w.map\n1,0\n",
            Some(&grid),
        )),
    ];
    insta::assert_snapshot!(errors.join("\n"));
}

/// Found by fuzzing (tests/fuzz): a header announcing billions of cells aborted the process on
/// the allocation, a location far off the map overflowed while its error was written, and a
/// sorting grid 0 cells wide but 777,777,773 tall was accepted (drawing it took seconds).
#[test]
fn huge_sizes_and_far_locations_are_errors_not_aborts() {
    let grid = load::parse_movingai_map("m.map", "height 1\nwidth 3\nmap\n.@.\n").unwrap();
    let errors = [
        err(load::parse_kiva_map(
            "k.map",
            "2222422233,46\n480\n192\n5000\n...\n",
        )),
        err(load::parse_movingai_map(
            "m.map",
            "type octile\nheight 7\nwidth 4222222222\nmap\n..@.\n",
        )),
        err(load::parse_sorting_grid(
            "s.grid",
            "Grid size (x, y)\n4000000000,4000000000\nid,type\n0,Travel,None,0,0,1,1,1,1,1\n",
        )),
        err(load::parse_sorting_grid(
            "s.grid",
            "Grid size (x, y)\n2,1\nid,type\n0,Travel,None,4294967295,4294967295,1,1,1,1,1\n\n",
        )),
        err(load::parse_sorting_grid(
            "s.grid",
            "Grid size (x, y)\n0,777777773\nid,type\n",
        )),
        err(load::parse_pibt2_instance(
            "i.txt",
            "map_file=w.map\n9223372036854775807,29\n",
            Some(&grid),
        )),
        err(load::parse_movingai_scen(
            "s.scen",
            "version 1\n0\tm.map\t3\t1\t0\t9223372036854775807\t0\t0\t1\n",
            &grid,
        )),
    ];
    assert_eq!(
        errors,
        [
            "k.map:5:4: map row has width 3, expected 46",
            "m.map:5:5: map row has width 4, expected 4222222222",
            "s.grid:2:1: a 4000000000 x 4000000000 grid needs 16000000000000000000 cell lines, \
             the file has 1 more",
            "s.grid:4:15: location 12884901885 is outside the map (2 x 1)",
            "s.grid:2:1: a 0 x 777777773 grid has no cells",
            "i.txt:2:1: location 9223372036854775807 is outside the map (3 x 1)",
            "s.scen:2:13: location 9223372036854775807 is outside the map (3 x 1)",
        ]
    );
}

const FLOOR: &str = r#"name = "tiny"
cell_size_m = 1.0
map = """
#######
#.qqf.#
#.>>>.#
#c.Ps.#
#.....#
#######
"""

[[station]]
name = "pick-1"
kind = "pick"
face = [1, 4]
queue = [[1, 2], [1, 3]]

[[charger]]
name = "charger-1"
cell = [3, 1]

[[pod]]
id = "tall"
cell = [3, 4]
contents = { "SKU-1" = 3 }
"#;

#[test]
fn a_floor_layout_parses_with_one_way_highways() {
    let floor = load::parse_floor("tiny.toml", FLOOR).unwrap();
    assert_eq!(floor.stations.len(), 1);
    assert_eq!(floor.stations[0].queue, vec![Cell(9), Cell(10)]);
    assert_eq!(floor.storage, vec![Cell(24), Cell(25)]);
    let highway = floor.grid.cell_at(2, 2).unwrap();
    assert!(floor.grid.has_edge(highway, Heading::East));
    assert!(!floor.grid.has_edge(highway, Heading::West));
    assert!(
        floor.grid.has_edge(highway, Heading::North),
        "into the lane entry"
    );
    let ids: Vec<&str> = floor.pods.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["pod-0001", "tall"]);
    assert_eq!(floor.pods[1].contents["SKU-1"], 3);
    assert_eq!(floor.stations[0].capacity, 3);
    // The lane is entered at its first cell only, and the face only from the lane.
    let (q1, face) = (Cell(10), Cell(11));
    assert!(
        !floor.grid.has_edge(Cell(17), Heading::North),
        "no entry mid-lane"
    );
    assert!(
        !floor.grid.has_edge(Cell(18), Heading::North),
        "no entry to the face from below"
    );
    assert!(floor.grid.has_edge(q1, Heading::East));
    assert!(
        !floor.grid.has_edge(q1, Heading::South),
        "no leaving the lane sideways"
    );
    assert!(
        floor.grid.has_edge(face, Heading::South),
        "the face exits to the floor"
    );
}

#[test]
fn broken_floor_layouts_are_rejected_with_a_position() {
    let errors = [
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("#.qqf.#", "#.qqf#"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("#.qqf.#", "#.qqfX#"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("queue = [[1, 2], [1, 3]]", "queue = [[1, 3], [1, 2]]"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("face = [1, 4]", "face = [9, 4]"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("charger-1", "pick-1"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("kind = \"pick\"", "kind = \"dance\""),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("cell = [3, 1]", "cell = [3, 2]"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("cell = [3, 4]", "cell = [0, 0]"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("id = \"tall\"", "id = \"pod-0001\""),
        )),
        err(load::parse_floor(
            "f.toml",
            &format!("{FLOOR}\n[[pod]]\nid = \"twin\"\ncell = [3, 4]\n"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("#.>>>.#", "#######"),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace(
                "queue = [[1, 2], [1, 3]]",
                "queue = [[1, 2], [1, 3]]\ncapacity = 4",
            ),
        )),
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace(
                "queue = [[1, 2], [1, 3]]",
                "queue = [[1, 2], [1, 3]]\nexit = [3, 3]",
            ),
        )), // Slots walled in by other slots: a robot carrying a pod could not get out.
        err(load::parse_floor(
            "f.toml",
            &FLOOR.replace("#.....#", "#.#s#.#"),
        )),
    ];
    insta::assert_snapshot!(errors.join("\n"));
}

fn grid_of(rows: &[&str]) -> Grid {
    let text = format!(
        "height {}\nwidth {}\nmap\n{}\n",
        rows.len(),
        rows[0].len(),
        rows.join("\n")
    );
    load::parse_movingai_map("t.map", &text).unwrap()
}

#[test]
fn walled_corridors_open_at_both_ends_become_one_way() {
    // Row 3 is walled above and below and open at both ends: the first corridor runs east.
    let mut grid = grid_of(&[
        "..........",
        "..........",
        "..@@@@@@..",
        "..........",
        "..@@@@@@..",
        "..........",
        "..........",
    ]);
    assert_eq!(grid.orient_corridors(), 1);
    let corridor = grid.cell_at(3, 4).unwrap();
    assert!(grid.has_edge(corridor, Heading::East) && !grid.has_edge(corridor, Heading::West));
    // Open rows stay two-way.
    let open = grid.cell_at(5, 4).unwrap();
    assert!(grid.has_edge(open, Heading::East) && grid.has_edge(open, Heading::West));
}

#[test]
fn open_floor_guidance_sends_routes_along_the_aisle() {
    // Rows 0-1 are open floor, row 3 an aisle walled on both sides. With open moves costing
    // 3, the route from the west end of the open band to the east end takes the aisle.
    let mut grid = grid_of(&[
        "..........",
        "..........",
        ".@@@@@@@@.",
        "..........",
        ".@@@@@@@@.",
    ]);
    let weighted = grid.weigh_open_areas(3);
    let (start, goal) = (grid.cell_at(1, 0).unwrap(), grid.cell_at(1, 9).unwrap());
    let aisle = grid.cell_at(3, 4).unwrap();
    assert_eq!(grid.edge_cost(aisle, Heading::East), 1);
    assert_eq!(
        grid.edge_cost(grid.cell_at(0, 4).unwrap(), Heading::East),
        3
    );
    // Only rows 0-1 are open: 9 + 9 edges along them and 10 across, each both ways.
    assert_eq!(weighted, 2 * (9 + 9 + 10));
    let table = DistTable::compute(&grid, goal, Motion::Grid4);
    // Two down (leaving the open band costs 1), nine along the aisle, two up: 13 < 9 * 3.
    assert_eq!(table.get(&grid, start, Heading::East), 13);
    grid.clear_edge_costs();
    let plain = DistTable::compute(&grid, goal, Motion::Grid4);
    assert_eq!(plain.get(&grid, start, Heading::East), 9);
}

#[test]
fn soft_rules_let_a_robot_drive_against_a_corridor_at_a_cost() {
    // Three corridors (rows 0, 2, 4, walled by the map edge or the blocks): east, west, east.
    let unruled = grid_of(&["......", "..@@..", "......", "..@@..", "......"]);
    let mut grid = unruled.clone();
    assert_eq!(grid.orient_corridors(), 3);
    let (west_end, east_end) = (grid.cell_at(2, 1).unwrap(), grid.cell_at(2, 4).unwrap());
    let hard = DistTable::compute(&grid, east_end, Motion::Grid4);
    // Against the west-bound middle corridor: round by row 0 or row 4 (2 + 3 + 2 moves).
    assert_eq!(hard.get(&grid, west_end, Heading::East), 7);
    assert_eq!(grid.soften_rules(&unruled, 2), 9);
    let corridor = grid.cell_at(2, 2).unwrap();
    assert!(grid.has_edge(corridor, Heading::East));
    assert_eq!(grid.edge_cost(corridor, Heading::East), 2);
    assert_eq!(grid.edge_cost(corridor, Heading::West), 1);
    let soft = DistTable::compute(&grid, east_end, Motion::Grid4);
    // Straight through against the flow: 3 moves at 2 each.
    assert_eq!(soft.get(&grid, west_end, Heading::East), 6);
}

#[test]
fn corridor_rules_that_would_trap_a_cell_are_not_applied() {
    // The only link between two rooms is a walled corridor: one-way, it would cut the rooms
    // apart, so the rules are dropped as a whole.
    let mut grid = grid_of(&["...@@@...", ".........", "...@@@..."]);
    assert_eq!(grid.orient_corridors(), 0);
    assert_eq!(grid.n_one_way_edges(), 0);
    // A dead-end spur is never oriented.
    let mut spur = grid_of(&["@@@@@", "...@@", "@@@@@"]);
    assert_eq!(spur.orient_corridors(), 0);
}

#[test]
fn successive_corridors_alternate_direction() {
    // Rows 0, 2, 4, 6, 8 are walled above and below between columns 2 and 6 (the map edge
    // counts as a wall): east, west, east, west, east by order, whatever the row parity.
    let rows = [
        ".........",
        "..@@@@@..",
        ".........",
        "..@@@@@..",
        ".........",
        "..@@@@@..",
        ".........",
        "..@@@@@..",
        ".........",
    ];
    let mut grid = grid_of(&rows);
    assert_eq!(grid.orient_corridors(), 5);
    let directions: Vec<bool> = [0, 2, 4, 6, 8]
        .iter()
        .map(|r| grid.has_edge(grid.cell_at(*r, 4).unwrap(), Heading::East))
        .collect();
    assert_eq!(directions, vec![true, false, true, false, true]);
}

#[test]
fn a_loaded_robot_reaches_slots_but_never_passes_through_one() {
    let grid = load::parse_floor("tiny.toml", FLOOR).unwrap().grid;
    let at = |r, c| grid.cell_at(r, c).unwrap();
    let steps = grid.steps_from(at(3, 2), true, true);
    // The slots [3, 3] and [3, 4] are reached, the cell behind them only around them.
    assert_eq!(steps[at(3, 3).index()], 1);
    assert_eq!(steps[at(3, 4).index()], 4);
    assert_eq!(steps[at(3, 5).index()], 5);
    assert_eq!(steps[at(0, 0).index()], crate::UNREACHABLE);
}

#[test]
fn arrival_headings_cost_the_turns_the_next_trip_probably_needs() {
    // A 1-wide corridor; the likely next goals are all at its west end.
    let mut grid = grid_of(&["......."]);
    let west = grid.cell_at(0, 0).unwrap();
    let mid = grid.cell_at(0, 3).unwrap();
    assert!(!grid.has_arrival_costs());
    assert!(grid.weigh_arrival_headings(&[west]) > 0);
    // Leaving west: facing west costs nothing more, north or south one turn, east two.
    assert_eq!(grid.arrival_cost(mid, Heading::West), 0);
    assert_eq!(grid.arrival_cost(mid, Heading::North), 1);
    assert_eq!(grid.arrival_cost(mid, Heading::East), 2);
    // The likely goal itself costs nothing to arrive on.
    assert_eq!(grid.arrival_cost(west, Heading::East), 0);
    // A table to `mid` starts from those costs: coming from the west end facing east, the
    // robot arrives facing east (3 moves, then 2 for the heading); from the east end facing
    // west it arrives facing west (3 moves).
    let table = DistTable::compute(&grid, mid, Motion::Rotate);
    assert_eq!(table.get(&grid, west, Heading::East), 5);
    let east = grid.cell_at(0, 6).unwrap();
    assert_eq!(table.get(&grid, east, Heading::West), 3);
    // On the goal, turning first is counted like any other way to the best heading.
    assert_eq!(table.get(&grid, mid, Heading::East), 2);
    assert_eq!(table.get(&grid, mid, Heading::North), 1);
    // `Grid4` tables have no headings and ignore the costs.
    let grid4 = DistTable::compute(&grid, mid, Motion::Grid4);
    assert_eq!(grid4.get(&grid, west, Heading::East), 3);
}

#[test]
fn arrival_costs_are_rounded_means_over_the_likely_goals() {
    let mut grid = grid_of(&["......."]);
    let (west, east) = (grid.cell_at(0, 0).unwrap(), grid.cell_at(0, 6).unwrap());
    let mid = grid.cell_at(0, 3).unwrap();
    // Half the next goals west, half east: facing either way costs 2 half the time (1 on
    // average), facing north or south one turn either way.
    grid.weigh_arrival_headings(&[west, east]);
    for h in Heading::ALL {
        assert_eq!(grid.arrival_cost(mid, h), 1, "{h:?}");
    }
    // Three west, one east: facing east costs 1.5, rounded to 2; west 0.5, rounded to 1.
    grid.weigh_arrival_headings(&[west, west, west, east]);
    assert_eq!(grid.arrival_cost(mid, Heading::East), 2);
    assert_eq!(grid.arrival_cost(mid, Heading::West), 1);
    // No likely goals: no costs.
    assert_eq!(grid.weigh_arrival_headings(&[]), 0);
    assert!(!grid.has_arrival_costs());
}
