//! Block-by-block tests of the job file parser: values, defaults, and the
//! exact error texts and positions.

use super::*;

#[test]
fn minimal_job() {
    let job = parse("job \"x\" {}").unwrap();
    assert_eq!(job.id.as_deref(), Some("x"));
    assert_eq!(job.name.as_deref(), Some("x"));
    assert_eq!(job.task_groups, None);
}
