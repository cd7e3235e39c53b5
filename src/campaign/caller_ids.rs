//! A campaign's caller-ID pool (sans-IO): which of its numbers the next
//! call shows. Carriers and handset apps flag a number that places too many
//! calls, so a campaign can spread its calls over several: in turn
//! (`round_robin`), or on the number used least today (`least_used_today`,
//! counted over all of the client's calls since the start of the service's
//! day, so several campaigns sharing numbers balance together).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallerIdStrategy {
    #[default]
    RoundRobin,
    LeastUsedToday,
}

/// The pool and where round robin stands.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    pub numbers: Vec<String>,
    pub strategy: CallerIdStrategy,
    cursor: usize,
}

impl Pool {
    pub fn new(numbers: Vec<String>, strategy: CallerIdStrategy) -> Self {
        Self { numbers, strategy, cursor: 0 }
    }

    /// Whether the store must say how often each number was used today.
    pub fn needs_counts(&self) -> bool {
        self.strategy == CallerIdStrategy::LeastUsedToday && self.numbers.len() > 1
    }

    /// The number for the next call; `used_today[i]` counts `numbers[i]`
    /// (ignored for round robin). Ties go to the next number in turn, so
    /// an idle pool is still used evenly. `None` when the pool is empty.
    pub fn pick(&mut self, used_today: &[u64]) -> Option<&str> {
        let n = self.numbers.len();
        if n == 0 {
            return None;
        }
        let i = match self.strategy {
            CallerIdStrategy::RoundRobin => self.cursor % n,
            CallerIdStrategy::LeastUsedToday => (0..n)
                .map(|k| (self.cursor + k) % n)
                .min_by_key(|&i| used_today.get(i).copied().unwrap_or(0))
                .unwrap_or(0),
        };
        self.cursor = (i + 1) % n;
        Some(&self.numbers[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(strategy: CallerIdStrategy) -> Pool {
        Pool::new(vec!["+1a".into(), "+1b".into(), "+1c".into()], strategy)
    }

    #[test]
    fn round_robin_takes_each_in_turn() {
        let mut p = pool(CallerIdStrategy::RoundRobin);
        let got: Vec<String> = (0..5).map(|_| p.pick(&[]).unwrap().to_string()).collect();
        assert_eq!(got, ["+1a", "+1b", "+1c", "+1a", "+1b"]);
        assert!(!p.needs_counts());
    }

    #[test]
    fn least_used_today_balances_and_breaks_ties_in_turn() {
        let mut p = pool(CallerIdStrategy::LeastUsedToday);
        assert!(p.needs_counts());
        assert_eq!(p.pick(&[5, 2, 9]), Some("+1b"));
        // A tie between a and c: the one after b comes first.
        assert_eq!(p.pick(&[3, 3, 3]), Some("+1c"));
        assert_eq!(p.pick(&[3, 3, 3]), Some("+1a"));
        // Simulated day: counts grow as numbers are picked; they stay within one.
        let mut used = [0u64; 3];
        for _ in 0..30 {
            let n = p.pick(&used).unwrap().to_string();
            used[p.numbers.iter().position(|x| *x == n).unwrap()] += 1;
        }
        assert_eq!(used, [10, 10, 10]);
        assert_eq!(Pool::default().pick(&[]), None);
    }
}
