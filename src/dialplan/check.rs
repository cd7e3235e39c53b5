//! Graph checks on a parsed flow: every node reachable from `start`, and no
//! loop that could spin without waiting for the caller or for time.

use super::{Flow, NodeId};
use crate::config::reader::Problem;

pub fn graph(flow: &Flow) -> Vec<Problem> {
    let mut problems = Vec::new();
    let n = flow.nodes.len();

    // Reachability from the start node.
    let mut seen = vec![false; n];
    let mut stack = vec![flow.start];
    while let Some(NodeId(i)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.extend(flow.nodes[i].kind.successors());
    }
    for (i, node) in flow.nodes.iter().enumerate() {
        if !seen[i] {
            problems.push(Problem {
                key: format!("nodes.{}", node.name),
                message: format!("unreachable from the start node {:?}", flow.node(flow.start).name),
            });
        }
    }

    // Cycles among nodes that do not wait: depth-first search with colours.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; n];
    let mut reported = vec![false; n];
    for root in 0..n {
        if mark[root] != Mark::New || flow.nodes[root].kind.waits() {
            continue;
        }
        // Iterative DFS keeping the path to name the loop.
        let mut path: Vec<(usize, Vec<NodeId>)> = vec![(root, instant_successors(flow, root))];
        mark[root] = Mark::OnPath;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            match next.pop() {
                Some(NodeId(s)) => match mark[s] {
                    Mark::New => {
                        mark[s] = Mark::OnPath;
                        path.push((s, instant_successors(flow, s)));
                    }
                    Mark::OnPath if !reported[s] => {
                        reported[s] = true;
                        let start = path.iter().position(|(p, _)| *p == s).unwrap_or(0);
                        let mut names: Vec<&str> =
                            path[start..].iter().map(|(p, _)| flow.nodes[*p].name.as_str()).collect();
                        names.push(&flow.nodes[s].name);
                        problems.push(Problem {
                            key: format!("nodes.{}", flow.nodes[s].name),
                            message: format!("loop without an input or wait node: {}", names.join(" → ")),
                        });
                    }
                    _ => {}
                },
                None => {
                    mark[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    problems
}

/// Successors that do not wait themselves (a waiting node breaks a loop).
fn instant_successors(flow: &Flow, i: usize) -> Vec<NodeId> {
    flow.nodes[i].kind.successors().into_iter().filter(|s| !flow.node(*s).kind.waits()).collect()
}
