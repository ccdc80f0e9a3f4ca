//! Wake-ups for blocking queries: one watch channel per table and one per
//! job, so a waiter costs a channel receiver, not a thread or a poll loop;
//! and feeds of changed job keys for followers that track jobs one by one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use caravan_core::state::Table;
use tokio::sync::{mpsc, watch};

/// The lower-cased IDs of the jobs one applied batch wrote.
pub type JobChanges = Arc<BTreeSet<String>>;

/// What a blocking query read, i.e. what must change before it re-runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// Any write to this table.
    Table(Table),
    /// Any write touching this job (lower-cased ID): the job, its versions,
    /// summary, evaluations or allocations.
    Job(String),
    /// The job list: the jobs table or the summaries it embeds.
    JobList,
    /// Any write at all.
    Any,
}

/// The senders the writer fires after each applied batch.
pub struct Watch {
    tables: HashMap<Table, watch::Sender<u64>>,
    job_list: watch::Sender<u64>,
    any: watch::Sender<u64>,
    jobs: Mutex<HashMap<String, watch::Sender<u64>>>,
    feeds: Mutex<Vec<mpsc::UnboundedSender<JobChanges>>>,
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            tables: Table::ALL
                .iter()
                .map(|t| (*t, watch::Sender::new(0)))
                .collect(),
            job_list: watch::Sender::new(0),
            any: watch::Sender::new(0),
            jobs: Mutex::new(HashMap::new()),
            feeds: Mutex::new(Vec::new()),
        }
    }
}

impl Watch {
    /// A receiver that fires on the next change of `topic` (changes before
    /// the call are not reported).
    pub fn subscribe(&self, topic: &Topic) -> watch::Receiver<u64> {
        match topic {
            Topic::Table(t) => match self.tables.get(t) {
                Some(s) => s.subscribe(),
                None => self.any.subscribe(),
            },
            Topic::JobList => self.job_list.subscribe(),
            Topic::Any => self.any.subscribe(),
            Topic::Job(key) => {
                let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
                jobs.entry(key.clone())
                    .or_insert_with(|| watch::Sender::new(0))
                    .subscribe()
            }
        }
    }

    /// A feed of the job keys every later batch writes, so a follower
    /// (the periodic launcher) looks at what changed instead of every job.
    pub fn job_changes(&self) -> mpsc::UnboundedReceiver<JobChanges> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    /// Wakes the waiters of everything a batch wrote, at state index `index`.
    pub fn notify(&self, tables: &BTreeSet<Table>, jobs: &BTreeSet<String>, index: u64) {
        if tables.is_empty() && jobs.is_empty() {
            return;
        }
        if !jobs.is_empty() {
            let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
            if !feeds.is_empty() {
                let changes: JobChanges = Arc::new(jobs.clone());
                feeds.retain(|f| f.send(changes.clone()).is_ok());
            }
        }
        for t in tables {
            if let Some(s) = self.tables.get(t) {
                s.send_replace(index);
            }
        }
        if tables.contains(&Table::Jobs) || tables.contains(&Table::JobSummary) {
            self.job_list.send_replace(index);
        }
        self.any.send_replace(index);
        let mut watched = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        for key in jobs {
            let idle = match watched.get(key) {
                Some(s) if s.receiver_count() > 0 => {
                    s.send_replace(index);
                    false
                }
                Some(_) => true,
                None => false,
            };
            if idle {
                watched.remove(key);
            }
        }
        // Jobs whose waiters all left are dropped lazily; sweep when the map
        // has grown so it cannot leak.
        if watched.len() > 4096 {
            watched.retain(|_, s| s.receiver_count() > 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_waiter_wakes_only_for_its_job() {
        let w = Watch::default();
        let mut a = w.subscribe(&Topic::Job("a".into()));
        let mut list = w.subscribe(&Topic::JobList);
        w.notify(
            &[Table::Evals].into_iter().collect(),
            &["b".to_string()].into_iter().collect(),
            7,
        );
        assert!(!a.has_changed().expect("open"));
        assert!(!list.has_changed().expect("open"));
        w.notify(
            &[Table::Jobs].into_iter().collect(),
            &["a".to_string()].into_iter().collect(),
            8,
        );
        a.changed().await.expect("open");
        assert_eq!(*a.borrow(), 8);
        list.changed().await.expect("open");
    }

    #[test]
    fn a_job_feed_gets_the_keys_of_each_batch() {
        let w = Watch::default();
        let mut feed = w.job_changes();
        w.notify(&[Table::Nodes].into_iter().collect(), &BTreeSet::new(), 3);
        w.notify(
            &[Table::Jobs].into_iter().collect(),
            &["a".to_string(), "b".to_string()].into_iter().collect(),
            4,
        );
        let got = feed.try_recv().expect("one batch");
        assert_eq!(got.iter().cloned().collect::<Vec<_>>(), vec!["a", "b"]);
        assert!(feed.try_recv().is_err());
        drop(feed);
        // A dropped feed is forgotten on the next send.
        w.notify(
            &BTreeSet::new(),
            &["c".to_string()].into_iter().collect(),
            5,
        );
        assert!(w.feeds.lock().expect("lock").is_empty());
    }
}
