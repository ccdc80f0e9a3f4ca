//! What `nomad plan` v0.6 prints for a plan response: the annotated job
//! diff, the scheduler dry-run summary, warnings and the modify-index hint.
//!
//! Everything is built as colorstring markup first and coloured (or
//! stripped) in one pass per block, exactly where Nomad does it, so that
//! the reset codes land where Nomad's do.

use caravan_core::diff::{DiffType, FieldDiff, JobDiff, ObjectDiff, TaskDiff, TaskGroupDiff};
use caravan_core::gofmt::{duration, quote};
use caravan_core::model::api::ApiJob;
use caravan_core::model::AllocMetric;
use caravan_core::scheduler::PlanResponse;

use super::colorize::Colorize;

/// How the plan was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanView<'a> {
    /// The job file as given on the command line (for the hint).
    pub path: &'a str,
    /// `-diff`: print the job diff.
    pub diff: bool,
    /// `-verbose`: expand added and deleted groups and tasks.
    pub verbose: bool,
    /// Unix nanoseconds, for "… from now".
    pub now: i64,
}

/// The full standard output of a plan, as Nomad's `Ui.Output` calls write it.
pub fn render_plan(resp: &PlanResponse, job: &ApiJob, view: &PlanView, c: Colorize) -> String {
    let mut out = String::new();
    if view.diff {
        if let Some(diff) = &resp.diff {
            out.push_str(&c.color(format_job_diff(diff, view.verbose).trim()));
            out.push_str("\n\n");
        }
    }
    out.push_str(&c.color("[bold]Scheduler dry-run:[reset]"));
    out.push('\n');
    out.push_str(&c.color(&format_dry_run(resp, job, view.now)));
    out.push_str("\n\n");
    if !resp.warnings.is_empty() {
        out.push_str(&c.color(&format!(
            "[bold][yellow]Job Warnings:\n{}[reset]\n",
            resp.warnings
        )));
        out.push('\n');
    }
    out.push_str(&c.color(&format_job_modify_index(resp.job_modify_index, view.path)));
    out.push('\n');
    out
}

/// Nomad's plan exit code: 1 if allocations would be created, stopped,
/// migrated, replaced or canaried, else 0.
pub fn plan_exit_code(resp: &PlanResponse) -> i32 {
    let changes = resp.annotations.iter().any(|a| {
        a.desired_tg_updates
            .values()
            .any(|d| d.stop + d.place + d.migrate + d.destructive_update + d.canary > 0)
    });
    i32::from(changes)
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// The coloured marker of a diff type and its printed width.
fn diff_marker(t: DiffType) -> (&'static str, usize) {
    match t {
        DiffType::Added => ("[green]+[reset] ", 2),
        DiffType::Deleted => ("[red]-[reset] ", 2),
        DiffType::Edited => ("[light_yellow]+/-[reset] ", 4),
        DiffType::None => ("", 0),
    }
}

/// The annotated job diff; with `verbose`, added or deleted groups and
/// tasks are expanded too.
pub fn format_job_diff(job: &JobDiff, verbose: bool) -> String {
    let (marker, _) = diff_marker(job.diff_type);
    let mut out = format!("{marker}[bold]Job: {}\n", quote(&job.id));
    let (longest_field, mut longest_marker) = longest_prefixes(&job.fields, &job.objects);
    for tg in &job.task_groups {
        longest_marker = longest_marker.max(diff_marker(tg.diff_type).1);
    }
    if job.diff_type == DiffType::Edited || verbose {
        let fo =
            aligned_fields_and_objects(&job.fields, &job.objects, 0, longest_field, longest_marker);
        out.push_str(&fo);
        if !fo.is_empty() {
            out.push('\n');
        }
    }
    for tg in &job.task_groups {
        let prefix = longest_marker.saturating_sub(diff_marker(tg.diff_type).1);
        out.push_str(&format_task_group_diff(tg, prefix, verbose));
        out.push('\n');
    }
    out
}

/// The colour of a group's update kind in the `(1 create, …)` summary.
fn update_color(kind: &str) -> &'static str {
    match kind {
        "create" => "[green]",
        "destroy" => "[red]",
        "migrate" => "[blue]",
        "in-place update" => "[cyan]",
        "create/destroy update" => "[yellow]",
        "canary" => "[light_yellow]",
        _ => "",
    }
}

fn format_task_group_diff(tg: &TaskGroupDiff, tg_prefix: usize, verbose: bool) -> String {
    let (marker, _) = diff_marker(tg.diff_type);
    let mut out = format!(
        "{marker}{}[bold]Task Group: {}[reset]",
        spaces(tg_prefix),
        quote(&tg.name)
    );
    match tg.updates.as_ref().filter(|u| !u.is_empty()) {
        // A BTreeMap iterates in Go's sort.Strings order.
        Some(updates) => {
            let parts: Vec<String> = updates
                .iter()
                .map(|(kind, count)| format!("[reset]{}{count} {kind}", update_color(kind)))
                .collect();
            out.push_str(&format!(" ({}[reset])\n", parts.join(", ")));
        }
        None => out.push_str("[reset]\n"),
    }
    let (longest_field, mut longest_marker) = longest_prefixes(&tg.fields, &tg.objects);
    for task in &tg.tasks {
        longest_marker = longest_marker.max(diff_marker(task.diff_type).1);
    }
    let sub_start = tg_prefix + 2;
    if tg.diff_type == DiffType::Edited || verbose {
        let fo = aligned_fields_and_objects(
            &tg.fields,
            &tg.objects,
            sub_start,
            longest_field,
            longest_marker,
        );
        out.push_str(&fo);
        if !fo.is_empty() {
            out.push('\n');
        }
    }
    for task in &tg.tasks {
        let prefix = longest_marker.saturating_sub(diff_marker(task.diff_type).1);
        out.push_str(&format_task_diff(task, sub_start, prefix, verbose));
        out.push('\n');
    }
    out
}

fn format_task_diff(task: &TaskDiff, start: usize, task_prefix: usize, verbose: bool) -> String {
    let (marker, _) = diff_marker(task.diff_type);
    let mut out = format!(
        "{}{marker}{}[bold]Task: {}",
        spaces(start),
        spaces(task_prefix),
        quote(&task.name)
    );
    if !task.annotations.is_empty() {
        out.push_str(&format!(
            " [reset]({})",
            color_annotations(&task.annotations)
        ));
    }
    match task.diff_type {
        DiffType::None => return out,
        DiffType::Added | DiffType::Deleted if !verbose => return out,
        _ => out.push('\n'),
    }
    let (longest_field, longest_marker) = longest_prefixes(&task.fields, &task.objects);
    out.push_str(&aligned_fields_and_objects(
        &task.fields,
        &task.objects,
        start + 2,
        longest_field,
        longest_marker,
    ));
    out
}

fn format_object_diff(diff: &ObjectDiff, start: usize, key_prefix: usize) -> String {
    let (marker, marker_len) = diff_marker(diff.diff_type);
    let mut out = format!(
        "{}{marker}{}{} {{\n",
        spaces(start),
        spaces(key_prefix),
        diff.name
    );
    let (longest_field, longest_marker) = longest_prefixes(&diff.fields, &diff.objects);
    out.push_str(&aligned_fields_and_objects(
        &diff.fields,
        &diff.objects,
        start + key_prefix + 2,
        longest_field,
        longest_marker,
    ));
    format!("{out}\n{}}}", spaces(start + marker_len + key_prefix))
}

fn format_field_diff(
    diff: &FieldDiff,
    start: usize,
    key_prefix: usize,
    value_prefix: usize,
) -> String {
    let (marker, _) = diff_marker(diff.diff_type);
    let mut out = format!(
        "{}{marker}{}{}: {}",
        spaces(start),
        spaces(key_prefix),
        diff.name,
        spaces(value_prefix)
    );
    match diff.diff_type {
        DiffType::Deleted => out.push_str(&quote(&diff.old)),
        DiffType::Edited => {
            out.push_str(&format!("{} => {}", quote(&diff.old), quote(&diff.new)));
        }
        DiffType::Added | DiffType::None => out.push_str(&quote(&diff.new)),
    }
    if !diff.annotations.is_empty() {
        out.push_str(&format!(" ({})", color_annotations(&diff.annotations)));
    }
    out
}

/// Fields then objects, values aligned on the longest field name and
/// names on the widest marker.
fn aligned_fields_and_objects(
    fields: &[FieldDiff],
    objects: &[ObjectDiff],
    start: usize,
    longest_field: usize,
    longest_marker: usize,
) -> String {
    let mut out = String::new();
    for (i, field) in fields.iter().enumerate() {
        let key_prefix = longest_marker.saturating_sub(diff_marker(field.diff_type).1);
        let value_prefix = longest_field.saturating_sub(field.name.len());
        out.push_str(&format_field_diff(field, start, key_prefix, value_prefix));
        if i + 1 != fields.len() || !objects.is_empty() {
            out.push('\n');
        }
    }
    for (i, object) in objects.iter().enumerate() {
        let key_prefix = longest_marker.saturating_sub(diff_marker(object.diff_type).1);
        out.push_str(&format_object_diff(object, start, key_prefix));
        if i + 1 != objects.len() {
            out.push('\n');
        }
    }
    out
}

/// The longest field name (in bytes, as Go's `len`) and widest marker.
fn longest_prefixes(fields: &[FieldDiff], objects: &[ObjectDiff]) -> (usize, usize) {
    let mut longest_field = 0;
    let mut longest_marker = 0;
    for f in fields {
        longest_field = longest_field.max(f.name.len());
        longest_marker = longest_marker.max(diff_marker(f.diff_type).1);
    }
    for o in objects {
        longest_marker = longest_marker.max(diff_marker(o.diff_type).1);
    }
    (longest_field, longest_marker)
}

fn color_annotations(annotations: &[String]) -> String {
    annotations
        .iter()
        .map(|a| match a.as_str() {
            "forces create" => format!("[green]{a}[reset]"),
            "forces destroy" => format!("[red]{a}[reset]"),
            "forces in-place update" => format!("[cyan]{a}[reset]"),
            "forces create/destroy update" => format!("[yellow]{a}[reset]"),
            _ => a.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The "Scheduler dry-run" block: placement outcome, rolling update and
/// next periodic launch.
pub fn format_dry_run(resp: &PlanResponse, job: &ApiJob, now: i64) -> String {
    let rolling = resp
        .created_evals
        .iter()
        .flatten()
        .rfind(|e| e.triggered_by == "rolling-update");
    let failed = resp.failed_tg_allocs.as_ref().filter(|f| !f.is_empty());
    let mut out = match failed {
        None => "[bold][green]- All tasks successfully allocated.[reset]\n".to_string(),
        Some(failed) => {
            let mut out = if job.job_type.as_deref() == Some("system") {
                "[bold][yellow]- WARNING: Failed to place allocations on all nodes.[reset]\n"
            } else {
                "[bold][yellow]- WARNING: Failed to place all allocations.[reset]\n"
            }
            .to_string();
            for (tg, metrics) in failed {
                let noun = if metrics.coalesced_failures > 0 {
                    "allocations"
                } else {
                    "allocation"
                };
                out.push_str(&format!(
                    "  [yellow]Task Group {} (failed to place {} {noun}):\n[reset]",
                    quote(tg),
                    metrics.coalesced_failures.saturating_add(1)
                ));
                out.push_str(&format!(
                    "[yellow]{}[reset]\n\n",
                    format_alloc_metrics(metrics, false, "    ")
                ));
            }
            if rolling.is_none() {
                trim_one_newline(&mut out);
            }
            out
        }
    };
    if let Some(eval) = rolling {
        out.push_str(&format!(
            "[green]- Rolling update, next evaluation will be in {}.\n",
            duration(eval.wait)
        ));
    }
    if let Some(next) = parse_go_time(&resp.next_periodic_launch) {
        if job.parameterized_job.is_none() {
            let zone = job
                .periodic
                .as_ref()
                .and_then(|p| p.time_zone.as_deref())
                .unwrap_or("");
            match caravan_core::periodic::parse_time_zone(zone) {
                Err(e) => out.push_str(&format!("[yellow]- Invalid time zone: {e}")),
                Ok(tz) => out.push_str(&format!(
                    "[green]- If submitted now, next periodic launch would be at {} ({} from now).\n",
                    format_time(next, tz),
                    time_difference(now, next)
                )),
            }
        }
    }
    trim_one_newline(&mut out);
    out
}

fn trim_one_newline(s: &mut String) {
    if s.ends_with('\n') {
        s.pop();
    }
}

/// Why placements failed, one `* …` line per reason; `scores` adds the
/// node scores.
pub fn format_alloc_metrics(metrics: &AllocMetric, scores: bool, prefix: &str) -> String {
    let mut out = String::new();
    if metrics.nodes_evaluated == 0 {
        out.push_str(&format!(
            "{prefix}* No nodes were eligible for evaluation\n"
        ));
    }
    for (dc, available) in &metrics.nodes_available {
        if *available == 0 {
            out.push_str(&format!(
                "{prefix}* No nodes are available in datacenter {}\n",
                quote(dc)
            ));
        }
    }
    for (class, n) in &metrics.class_filtered {
        out.push_str(&format!(
            "{prefix}* Class {} filtered {n} nodes\n",
            quote(class)
        ));
    }
    for (constraint, n) in &metrics.constraint_filtered {
        out.push_str(&format!(
            "{prefix}* Constraint {} filtered {n} nodes\n",
            quote(constraint)
        ));
    }
    if metrics.nodes_exhausted > 0 {
        out.push_str(&format!(
            "{prefix}* Resources exhausted on {} nodes\n",
            metrics.nodes_exhausted
        ));
    }
    for (class, n) in &metrics.class_exhausted {
        out.push_str(&format!(
            "{prefix}* Class {} exhausted on {n} nodes\n",
            quote(class)
        ));
    }
    for (dim, n) in &metrics.dimension_exhausted {
        out.push_str(&format!(
            "{prefix}* Dimension {} exhausted on {n} nodes\n",
            quote(dim)
        ));
    }
    if scores {
        for (name, score) in &metrics.scores {
            out.push_str(&format!("{prefix}* Score {} = {score:.6}\n", quote(name)));
        }
    }
    trim_one_newline(&mut out);
    out
}

/// The footer: the index to pass to `run -check-index` and why.
pub fn format_job_modify_index(index: u64, path: &str) -> String {
    format!(
        "[reset][bold]Job Modify Index: {index}[reset]\n\
To submit the job with version verification run:\n\
\n\
caravan job run -check-index {index} {path}\n\
\n\
When running the job with the check-index flag, the job will only be run if the\n\
server side version matches the job modify index returned. If the index has\n\
changed, another user has modified the job and the plan's results are\n\
potentially invalid."
    )
}

/// Unix nanoseconds of a Go `time.Time` JSON value; `None` for Go's zero
/// time (no launch) or a value that does not parse.
pub fn parse_go_time(s: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    if t.timestamp() == GO_ZERO_UNIX {
        return None;
    }
    t.timestamp_nanos_opt()
}

/// `0001-01-01T00:00:00Z` in Unix seconds.
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// Nomad's `formatTime` (`01/02/06 15:04:05 MST`) in `tz`; empty before
/// the epoch's first second, as Nomad shows no time rather than a zero one.
pub fn format_time(unix_ns: i64, tz: chrono_tz::Tz) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    if secs < 1 {
        return String::new();
    }
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => t
            .with_timezone(&tz)
            .format("%m/%d/%y %H:%M:%S %Z")
            .to_string(),
        None => String::new(),
    }
}

/// Nomad's `formatTimeDifference(now, next, time.Second)`: both truncated
/// to whole seconds, as a Go duration.
pub fn time_difference(now: i64, next: i64) -> String {
    let secs = |ns: i64| ns.div_euclid(1_000_000_000);
    let diff = secs(next)
        .saturating_sub(secs(now))
        .saturating_mul(1_000_000_000);
    duration(diff)
}

#[cfg(test)]
mod tests;
