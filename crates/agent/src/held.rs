//! Events of containers whose engine has not answered yet, held back in order for a short
//! while, so that rules and outputs see the container's name, image and pod. A container's
//! first process runs before the agent's lookup of it can complete: judged at once, its first
//! events would lack them (as a container's first events do in Falco), and a rule on
//! `container.image.repository` would misjudge them.
//!
//! What is held is bounded, per container and in all: past either bound an event is judged at
//! once, with what is known of its container then.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The longest an event waits for its container's metadata: about what a slow engine takes
/// to answer for a container it has just started.
pub const HOLD_FOR: Duration = Duration::from_secs(2);

const PER_CONTAINER: usize = 4096;
const TOTAL: usize = 65536;

/// Items held per container, oldest first.
#[derive(Debug)]
pub struct Held<T> {
    by_container: HashMap<String, VecDeque<(Instant, T)>>,
    total: usize,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held {
            by_container: HashMap::new(),
            total: 0,
        }
    }
}

impl<T> Held<T> {
    /// Holds `item` for `container` from `now`; gives it back when the bounds are reached.
    pub fn hold(&mut self, container: &str, item: T, now: Instant) -> Result<(), T> {
        if self.total >= TOTAL {
            return Err(item);
        }
        let queue = self.by_container.entry(container.to_owned()).or_default();
        if queue.len() >= PER_CONTAINER {
            return Err(item);
        }
        queue.push_back((now, item));
        self.total += 1;
        Ok(())
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether anything is held for `container`.
    pub fn holds(&self, container: &str) -> bool {
        self.by_container.contains_key(container)
    }

    /// Everything held for `container`, oldest first.
    pub fn release(&mut self, container: &str) -> Vec<T> {
        let queue = self.by_container.remove(container).unwrap_or_default();
        self.total -= queue.len();
        queue.into_iter().map(|(_, item)| item).collect()
    }

    /// The containers whose oldest item has waited [`HOLD_FOR`] by `now`, with everything
    /// held for each (the whole queue, so that a container's items stay in order).
    pub fn expire(&mut self, now: Instant) -> Vec<(String, Vec<T>)> {
        let due: Vec<String> = self
            .by_container
            .iter()
            .filter(|(_, queue)| {
                queue
                    .front()
                    .is_some_and(|(since, _)| now.duration_since(*since) >= HOLD_FOR)
            })
            .map(|(id, _)| id.clone())
            .collect();
        due.into_iter()
            .map(|id| {
                let items = self.release(&id);
                (id, items)
            })
            .collect()
    }

    /// Every container with something held, and what.
    pub fn release_all(&mut self) -> Vec<(String, Vec<T>)> {
        let ids: Vec<String> = self.by_container.keys().cloned().collect();
        ids.into_iter()
            .map(|id| {
                let items = self.release(&id);
                (id, items)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_back_in_order_when_released_or_due() {
        let mut held = Held::default();
        let t0 = Instant::now();
        held.hold("a", 1, t0).unwrap();
        held.hold("b", 10, t0 + Duration::from_millis(500)).unwrap();
        held.hold("a", 2, t0 + Duration::from_secs(1)).unwrap();
        assert!(held.holds("a"));
        assert!(held.expire(t0 + Duration::from_millis(1999)).is_empty());
        // a's oldest is due: all of a's items, in order; b waits on.
        assert_eq!(held.expire(t0 + HOLD_FOR), [("a".to_owned(), vec![1, 2])]);
        assert!(!held.holds("a"));
        assert_eq!(held.release("b"), [10]);
        assert!(held.release("b").is_empty());
        assert_eq!(held.total, 0);
    }

    #[test]
    fn bounds_hand_items_back() {
        let mut held = Held::default();
        let now = Instant::now();
        for i in 0..PER_CONTAINER {
            held.hold("a", i, now).unwrap();
        }
        assert_eq!(held.hold("a", 0, now), Err(0));
        held.hold("b", 1, now).unwrap();
        let released = held.release_all();
        assert_eq!(released.len(), 2);
        assert_eq!(held.total, 0);
    }
}
