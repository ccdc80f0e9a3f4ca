//! Running an evaluation to its end in process, as the server's worker
//! does: every write the run hands out is applied, and each plan's result
//! goes back to the run. Shared by the scheduler and state-writes benches.

use caravan_core::model::Evaluation;
use caravan_core::scheduler::EvalRun;
use caravan_core::state::Reply;
use caravan_core::ClusterState;

/// Processes `eval` to the end with `seed`, applying every write.
pub fn run_eval(state: &mut ClusterState, eval: Evaluation, seed: u64) {
    let mut run = EvalRun::new(eval, seed);
    while let Some(cmd) = run.next(state) {
        if let Reply::Plan(r) = state.apply(cmd).expect("write").reply {
            run.plan_applied(&r);
        }
    }
}
