//! The model worker pool's plain-Rust parts: how many workers a device gets, a batch's
//! schedule (which notes each worker codes, the results back in input order), and a `cls`
//! note's occlusion passes split across the workers. The page (`client.rs`) owns the workers
//! and only routes messages through these.

use std::collections::{BTreeMap, VecDeque};

use icd_core::NotePrediction;

use crate::protocol::Note;

/// Memory one model worker holds with the shipped bundle: its own copy of the int8 weights,
/// the tokenizer and the activations of up to 8 windows of 512 tokens (the attention scores
/// are about 100 MB of it), rounded up.
pub const WORKER_MB: f64 = 300.0;
/// Notes in flight per worker: the next note is already queued when one finishes, so a worker
/// never waits for the page. Also what a cancel lets finish.
pub const DEPTH: usize = 2;
/// At most this many workers, whatever the device says.
pub const MAX_WORKERS: usize = 8;
/// `navigator.deviceMemory` is missing outside Chromium: assume this many GB.
const UNKNOWN_MEMORY_GB: f64 = 4.0;

/// Model workers for a device with `cores` logical cores (`navigator.hardwareConcurrency`) and
/// `memory_gb` of memory (`navigator.deviceMemory`, which Chromium rounds and caps at 8): one
/// per core, as many as a quarter of the memory holds at [`WORKER_MB`] each, at least one and
/// at most [`MAX_WORKERS`]. `asked` (the page's `?workers=N`) wins, within 1..=MAX_WORKERS.
pub fn pool_size(cores: Option<usize>, memory_gb: Option<f64>, asked: Option<usize>) -> usize {
    if let Some(n) = asked {
        return n.clamp(1, MAX_WORKERS);
    }
    let by_cores = cores.unwrap_or(1);
    let mem = memory_gb.filter(|m| m.is_finite() && *m > 0.0).unwrap_or(UNKNOWN_MEMORY_GB);
    let by_memory = (mem * 1024.0 / 4.0 / WORKER_MB).floor() as usize;
    by_cores.min(by_memory).clamp(1, MAX_WORKERS)
}

/// One batch across the pool: notes go out one at a time to whichever worker has room, and
/// each result is put back at its note's place.
#[derive(Debug)]
pub struct BatchRun {
    pub id: u32,
    pub top_k: usize,
    notes: Vec<Note>,
    results: Vec<Option<NotePrediction>>,
    /// Notes not yet sent (a failed worker's notes go back here).
    queue: VecDeque<usize>,
    /// Request id → (worker, note index).
    in_flight: BTreeMap<u32, (usize, usize)>,
    /// Notes the model has coded.
    done: usize,
    /// Notes whose codes are final (fused with the code table's, or left as the model's).
    settled: usize,
}

impl BatchRun {
    pub fn new(id: u32, notes: Vec<Note>, top_k: usize) -> Self {
        let n = notes.len();
        BatchRun { id, top_k, notes, results: vec![None; n], queue: (0..n).collect(), in_flight: BTreeMap::new(), done: 0, settled: 0 }
    }

    /// The next note for `worker` under request id `req`, if the worker has room and notes
    /// are left.
    pub fn next_for(&mut self, worker: usize, req: u32) -> Option<Note> {
        if self.in_flight.values().filter(|(w, _)| *w == worker).count() >= DEPTH {
            return None;
        }
        let i = self.queue.pop_front()?;
        self.in_flight.insert(req, (worker, i));
        Some(self.notes[i].clone())
    }

    /// Whether `req` is one of this batch's requests still out.
    pub fn owns(&self, req: u32) -> bool {
        self.in_flight.contains_key(&req)
    }

    /// Records the answer to `req` (one note's model result); returns the worker that answered
    /// and the note's index. The note is settled later ([`BatchRun::settle`]).
    pub fn complete(&mut self, req: u32, mut results: Vec<NotePrediction>) -> Result<(usize, usize), String> {
        let (worker, i) = self.in_flight.remove(&req).ok_or_else(|| format!("batch request {req} is not out"))?;
        if results.len() != 1 {
            self.queue.push_front(i);
            return Err(format!("batch request {req}: one note sent, {} results back", results.len()));
        }
        self.results[i] = results.pop();
        self.done += 1;
        Ok((worker, i))
    }

    /// Note `i` and its model result, for the fusion with the code table's codes.
    pub fn coded(&self, i: usize) -> Option<(Note, NotePrediction)> {
        Some((self.notes.get(i)?.clone(), self.results.get(i)?.clone()?))
    }

    /// Note `i`'s final codes: `fused` (the code table's fusion), or `None` to keep the
    /// model's. Returns whether every note is settled.
    pub fn settle(&mut self, i: usize, fused: Option<NotePrediction>) -> bool {
        if let Some(f) = fused {
            self.results[i] = Some(f);
        }
        self.settled += 1;
        self.settled == self.notes.len()
    }

    /// A worker that failed: its notes go back to the queue for the others.
    pub fn requeue(&mut self, worker: usize) {
        let lost: Vec<u32> = self.in_flight.iter().filter(|(_, (w, _))| *w == worker).map(|(r, _)| *r).collect();
        for r in lost {
            if let Some((_, i)) = self.in_flight.remove(&r) {
                self.queue.push_front(i);
            }
        }
    }

    /// (notes coded, notes in the batch).
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.notes.len())
    }

    pub fn finished(&self) -> bool {
        self.done == self.notes.len()
    }

    /// The notes and their results in input order; `None` until every note is coded.
    pub fn into_results(self) -> Option<(Vec<Note>, Vec<NotePrediction>)> {
        let results: Option<Vec<NotePrediction>> = self.results.into_iter().collect();
        results.map(|r| (self.notes, r))
    }
}

/// A `cls` note's evidence across the pool: its occlusion passes (one per span of
/// `icd_core::evidence::occlusion_spans`) in contiguous shares, one per worker; when every
/// share's scores are in, the worker that coded the note assembles the evidence from them.
#[derive(Debug)]
pub struct OcclusionRun {
    /// The note's `Code` request id.
    pub id: u32,
    /// Share `p`: the workers' index and its spans.
    pub shares: Vec<(usize, Vec<(usize, usize)>)>,
    scores: Vec<Option<Vec<Vec<f32>>>>,
}

impl OcclusionRun {
    /// `spans` split over `workers` (ready workers' indices), as evenly as can be; a worker
    /// gets no share when there are fewer spans than workers.
    pub fn new(id: u32, spans: &[(usize, usize)], workers: &[usize]) -> Self {
        let parts = workers.len().min(spans.len()).max(1);
        let shares: Vec<(usize, Vec<(usize, usize)>)> = icd_core::evidence::shares(spans.len(), parts)
            .into_iter()
            .zip(workers.iter().chain(std::iter::repeat(&0)))
            .map(|(r, &w)| (w, spans[r].to_vec()))
            .collect();
        let n = shares.len();
        OcclusionRun { id, shares, scores: vec![None; n] }
    }

    /// Share `part`'s scores are in. When they are the last, every row in span order; an
    /// unknown part or a row count that does not match its share is an error.
    pub fn complete(&mut self, part: usize, scores: Vec<Vec<f32>>) -> Result<Option<Vec<Vec<f32>>>, String> {
        let want = self.shares.get(part).map(|(_, s)| s.len()).ok_or_else(|| format!("occlusion share {part} of {} is unknown", self.shares.len()))?;
        if scores.len() != want {
            return Err(format!("occlusion share {part}: {} score rows for {want} spans", scores.len()));
        }
        self.scores[part] = Some(scores);
        if self.scores.iter().any(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(self.scores.iter_mut().flat_map(|s| s.take().unwrap_or_default()).collect()))
    }
}

/// A long `cls` note's windows out across the pool: share `part` of them on `workers[part]`
/// (core's `Coder::window_states`); every share's states, in part order, go to worker 0 with
/// the note's `Code`.
#[derive(Debug)]
pub struct WindowRun {
    pub id: u32,
    pub workers: Vec<usize>,
    states: Vec<Option<Vec<Vec<f32>>>>,
}

impl WindowRun {
    pub fn new(id: u32, workers: &[usize]) -> Self {
        WindowRun { id, workers: workers.to_vec(), states: vec![None; workers.len()] }
    }

    /// Share `part`'s states; all of them, in order, once every share is in.
    pub fn complete(&mut self, part: usize, states: Vec<Vec<f32>>) -> Result<Option<Vec<Vec<f32>>>, String> {
        let n = self.states.len();
        let slot = self.states.get_mut(part).ok_or_else(|| format!("window share {part} of {n} is unknown"))?;
        if slot.is_some() {
            return Err(format!("window share {part} came twice"));
        }
        *slot = Some(states);
        if self.states.iter().any(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(self.states.iter_mut().flat_map(|s| s.take().unwrap_or_default()).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes(n: usize) -> Vec<Note> {
        (0..n).map(|i| Note { id: format!("n{i}"), text: format!("note {i}") }).collect()
    }

    fn coded(note: &Note) -> Vec<NotePrediction> {
        vec![NotePrediction { id: serde_json::Value::String(note.id.clone()), predictions: vec![], low_confidence: false, error: None }]
    }

    #[test]
    fn pool_size_follows_cores_memory_and_the_page_parameter() {
        assert_eq!(pool_size(Some(2), Some(8.0), None), 2);
        assert_eq!(pool_size(Some(16), Some(8.0), None), 6); // 2 GB / 300 MB
        assert_eq!(pool_size(Some(8), Some(0.5), None), 1);
        assert_eq!(pool_size(None, None, None), 1);
        assert_eq!(pool_size(Some(64), None, None), 3); // 4 GB assumed
        assert_eq!(pool_size(Some(2), Some(8.0), Some(1)), 1);
        assert_eq!(pool_size(Some(2), Some(8.0), Some(99)), MAX_WORKERS);
        assert_eq!(pool_size(Some(2), Some(8.0), Some(0)), 1);
    }

    #[test]
    fn results_come_back_in_input_order_whoever_codes_them() {
        let mut run = BatchRun::new(1, notes(5), 10);
        let mut req = 100;
        let mut out: Vec<(u32, Note)> = Vec::new();
        for w in [0, 1] {
            while let Some(n) = run.next_for(w, req) {
                out.push((req, n));
                req += 1;
            }
        }
        // Two per worker in flight.
        assert_eq!(out.len(), 4);
        // Worker 1 answers first, in reverse; worker 0 then takes the last note.
        for (r, n) in out.iter().rev() {
            assert!(run.owns(*r));
            let (_, i) = run.complete(*r, coded(n)).unwrap();
            assert!(!run.settle(i, None));
        }
        let n = run.next_for(0, req).unwrap();
        assert_eq!(n.id, "n4");
        assert!(!run.finished());
        let (w, i) = run.complete(req, coded(&n)).unwrap();
        assert_eq!((w, i), (0, 4));
        assert!(run.finished());
        // The last note settles with the code table's codes in place of the model's.
        let (note, mut fused) = run.coded(4).unwrap();
        assert_eq!(note.id, "n4");
        fused.low_confidence = true;
        assert!(run.settle(4, Some(fused)));
        let (notes, results) = run.into_results().unwrap();
        let ids: Vec<String> = results.iter().map(|r| r.id.as_str().unwrap().to_string()).collect();
        assert_eq!(ids, ["n0", "n1", "n2", "n3", "n4"]);
        assert!(results[4].low_confidence && !results[3].low_confidence);
        assert_eq!(notes.len(), 5);
    }

    #[test]
    fn a_failed_workers_notes_go_to_the_others_and_bad_answers_are_errors() {
        let mut run = BatchRun::new(1, notes(3), 10);
        let a = run.next_for(0, 1).unwrap();
        let _b = run.next_for(1, 2).unwrap();
        run.requeue(1);
        assert!(!run.owns(2));
        assert!(run.complete(2, vec![]).is_err(), "an answer to a request not out");
        let b = run.next_for(0, 3).unwrap();
        assert_eq!(b.id, "n1", "the failed worker's note is next");
        assert!(run.complete(1, vec![]).is_err(), "no result for one note");
        assert_eq!(run.complete(3, coded(&b)), Ok((0, 1)));
        assert_eq!(run.progress(), (1, 3));
        // The note without a result is sent again, not lost.
        assert_eq!(run.next_for(0, 4).unwrap().id, a.id);
    }

    #[test]
    fn occlusion_shares_go_to_each_worker_and_come_back_in_span_order() {
        let spans: Vec<(usize, usize)> = (0..5).map(|i| (i * 10, i * 10 + 9)).collect();
        let mut run = OcclusionRun::new(7, &spans, &[0, 2]);
        assert_eq!(run.shares.iter().map(|(w, s)| (*w, s.len())).collect::<Vec<_>>(), vec![(0, 2), (2, 3)]);
        assert_eq!(run.shares.iter().flat_map(|(_, s)| s.clone()).collect::<Vec<_>>(), spans);
        let row = |i: usize| vec![i as f32; 3];
        // The second share answers first: nothing is assembled until both are in.
        assert_eq!(run.complete(1, vec![row(2), row(3), row(4)]).unwrap(), None);
        assert!(run.complete(0, vec![row(0)]).is_err(), "a short share is refused");
        assert!(run.complete(5, vec![]).is_err(), "an unknown share is refused");
        assert_eq!(run.complete(0, vec![row(0), row(1)]).unwrap(), Some((0..5).map(row).collect()));
        // Fewer spans than workers: one span each, no empty shares.
        let few = OcclusionRun::new(8, &spans[..2], &[0, 1, 2, 3]);
        assert_eq!(few.shares.iter().map(|(w, s)| (*w, s.len())).collect::<Vec<_>>(), vec![(0, 1), (1, 1)]);
        // A note with no spans still makes one (empty) share for the coding worker.
        let none = OcclusionRun::new(9, &[], &[0, 1]);
        assert_eq!(none.shares, vec![(0, vec![])]);
    }

    #[test]
    fn window_states_come_back_in_part_order_whatever_order_they_arrive_in() {
        let mut run = WindowRun::new(4, &[0, 1, 2]);
        assert_eq!(run.complete(2, vec![vec![3.0]]), Ok(None));
        assert_eq!(run.complete(0, vec![vec![1.0], vec![1.5]]), Ok(None));
        // A share with no windows (a note shorter than the shares) is empty.
        assert_eq!(run.complete(1, vec![]), Ok(Some(vec![vec![1.0], vec![1.5], vec![3.0]])));
        let mut run = WindowRun::new(5, &[0, 1]);
        assert!(run.complete(2, vec![]).unwrap_err().contains("unknown"));
        assert_eq!(run.complete(1, vec![]), Ok(None));
        assert!(run.complete(1, vec![]).unwrap_err().contains("twice"));
    }
}
